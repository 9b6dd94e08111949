"""Tax profiles and the bundled regimes over HTTP: validation names the field, others' rows are 404."""

import pytest

from pfms_tax.models import TaxProfile

from .conftest import error_fields

pytestmark = pytest.mark.integration


async def test_regimes_list_and_detail_show_brackets_with_their_sources(env) -> None:
    me = env.person()
    listed = (await env.client.get("/api/v1/tax/regimes", headers=me.headers)).json()["data"]
    assert {(r["country"], r["tax_year"]) for r in listed} >= {("US", 2024), ("US", 2025), ("GB", 2025)}
    detail = (await env.client.get("/api/v1/tax/regimes/us/2024", headers=me.headers)).json()["data"]
    assert "Rev. Proc. 2023-34" in detail["sources"]["brackets"]
    single = next(s for s in detail["filing_statuses"] if s["filing_status"] == "single")
    assert single["income"][0] == {"lower": "0", "upper": "11600", "rate": "0.10"}
    assert single["income"][-1] == {"lower": "609350", "upper": None, "rate": "0.37"}
    assert single["capital_gains_long"][1] == {"lower": "47025", "upper": "518900", "rate": "0.15"}
    assert single["capital_gains_short"] == single["income"]
    assert single["standard_deduction"] == "14600"
    missing = await env.client.get("/api/v1/tax/regimes/FR/2024", headers=me.headers)
    assert missing.status_code == 404


async def test_profile_put_get_list_delete(env) -> None:
    me = env.person()
    assert (await env.client.get("/api/v1/tax/profiles/2024", headers=me.headers)).status_code == 404
    made = await env.profile(me, 2024, filing_status="married_joint", dependents=2)
    assert (made["country_code"], made["filing_status"], made["dependents"], made["currency"]) == (
        "US",
        "married_joint",
        2,
        "USD",
    )
    changed = await env.profile(me, 2024, filing_status="head_of_household", dependents=1)
    assert changed["filing_status"] == "head_of_household"
    await env.profile(me, 2025, country_code="gb", region="eng")
    listed = (await env.client.get("/api/v1/tax/profiles", headers=me.headers)).json()
    assert [(p["tax_year"], p["country_code"], p["region"]) for p in listed["data"]] == [
        (2025, "GB", "ENG"),
        (2024, "US", None),
    ]
    assert listed["pagination"]["total"] == 2
    gone = await env.client.delete("/api/v1/tax/profiles/2024", headers=me.headers)
    assert gone.status_code == 204
    assert await env.count(TaxProfile, TaxProfile.user_id == me.user_id) == 1


async def test_profile_validation_names_the_field_and_changes_nothing(env) -> None:
    me = env.person()
    url = "/api/v1/tax/profiles/2024"
    cases = [
        ({"country_code": "FR", "filing_status": "single"}, "country_code"),
        ({"country_code": "US", "filing_status": "widowed"}, "filing_status"),
        ({"country_code": "US", "filing_status": "single", "dependents": -1}, "dependents"),
        ({"country_code": "US", "filing_status": "single", "colour": "red"}, "colour"),
        ({"country_code": "US", "filing_status": "single", "dependents": "two"}, "dependents"),
    ]
    for body, field in cases:
        response = await env.client.put(url, json=body, headers=me.headers)
        assert response.status_code == 422, body
        assert field in error_fields(response), (body, response.text)
    scottish = await env.client.put(
        "/api/v1/tax/profiles/2025",
        json={"country_code": "GB", "region": "SCT", "filing_status": "single"},
        headers=me.headers,
    )
    assert scottish.status_code == 422 and error_fields(scottish) == ["region"]
    married_uk = await env.client.put(
        "/api/v1/tax/profiles/2025", json={"country_code": "GB", "filing_status": "married_joint"}, headers=me.headers
    )
    assert married_uk.status_code == 422 and error_fields(married_uk) == ["filing_status"]
    malformed = await env.client.put(
        url, content=b'{"country_code": ', headers={**me.headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "MALFORMED_JSON"
    assert await env.count(TaxProfile, TaxProfile.user_id == me.user_id) == 0


async def test_a_profile_is_private(env) -> None:
    me, other = env.person(), env.person()
    await env.profile(me, 2024)
    assert (await env.client.get("/api/v1/tax/profiles/2024", headers=other.headers)).status_code == 404
    assert (await env.client.delete("/api/v1/tax/profiles/2024", headers=other.headers)).status_code == 404
    # a year no profile can have: 422, not an integer overflowing the database column (fuzzing found a 500)
    for method in (env.client.get, env.client.delete):
        huge = await method(f"/api/v1/tax/profiles/{10**20}", headers=me.headers)
        assert huge.status_code == 422 and error_fields(huge) == ["year"], huge.text
    listed = (await env.client.get("/api/v1/tax/profiles", headers=other.headers)).json()
    assert listed["data"] == []
