"""Income sources over HTTP: create, read, list, update, delete; bad input; other people's sources."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pfms_income.models import IncomeSource, ProjectionInputs

from .conftest import error_fields

pytestmark = pytest.mark.integration

URL = "/api/v1/income/sources"
SALARY = {
    "name": "Acme payroll",
    "type": "salary",
    "amount": "3000.00",
    "currency": "usd",
    "frequency": "monthly",
    "start_date": "2024-01-31",
}


async def test_create_read_update_delete_a_source(env) -> None:
    me = env.person()
    created = await env.client.post(URL, json=SALARY, headers=me.headers)
    assert created.status_code == 201, created.text
    source = created.json()["data"]
    assert source["currency"] == "USD" and source["amount"] == "3000.00"
    assert source["is_recurring"] is True and source["is_active"] is True
    today = datetime.now(UTC).date()
    assert today <= datetime.fromisoformat(source["next_expected_date"]).date() <= today + timedelta(days=31)

    got = await env.client.get(f"{URL}/{source['id']}", headers=me.headers)
    assert got.json()["data"] == source

    patched = await env.client.patch(
        f"{URL}/{source['id']}", json={"amount": 3100, "end_date": None, "description": "raise"}, headers=me.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["amount"] == "3100.00" and patched.json()["data"]["description"] == "raise"

    deleted = await env.client.delete(f"{URL}/{source['id']}", headers=me.headers)
    assert deleted.status_code == 200 and deleted.json()["data"]["id"] == source["id"]
    assert (await env.client.get(f"{URL}/{source['id']}", headers=me.headers)).status_code == 404


async def test_irregular_and_one_time_sources(env) -> None:
    me = env.person()
    irregular = await env.client.post(
        URL, json={"name": "Consulting", "type": "freelance", "currency": "EUR"}, headers=me.headers
    )
    assert irregular.status_code == 201, irregular.text
    body = irregular.json()["data"]
    assert (body["frequency"], body["amount"], body["is_recurring"], body["next_expected_date"]) == (
        None,
        None,
        False,
        None,
    )
    bonus = await env.client.post(
        URL,
        json={
            "name": "Bonus",
            "type": "bonus",
            "currency": "JPY",
            "amount": "150000",
            "frequency": "one_time",
            "start_date": "2099-03-01",
        },
        headers=me.headers,
    )
    assert bonus.json()["data"]["amount"] == "150000" and bonus.json()["data"]["next_expected_date"] == "2099-03-01"
    assert bonus.json()["data"]["is_recurring"] is False


async def test_every_write_bumps_the_projection_inputs(env) -> None:
    me = env.person()
    source = (await env.client.post(URL, json=SALARY, headers=me.headers)).json()["data"]
    await env.client.patch(f"{URL}/{source['id']}", json={"is_active": False}, headers=me.headers)
    await env.client.delete(f"{URL}/{source['id']}", headers=me.headers)
    async with env.svc.db.sessions() as session:
        assert (
            await session.scalar(
                ProjectionInputs.__table__.select()
                .with_only_columns(ProjectionInputs.version)
                .where(ProjectionInputs.user_id == me.user_id)
            )
            == 3
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SALARY, "currency": "XXX1"}, "currency"),
        ({**SALARY, "currency": "ABC"}, "currency"),
        ({**SALARY, "type": "lottery"}, "type"),
        ({**SALARY, "amount": "-5"}, "amount"),
        ({**SALARY, "amount": "12.345"}, "amount"),
        ({**SALARY, "amount": 10.5, "currency": "JPY"}, "amount"),
        ({**SALARY, "amount": "NaN"}, "amount"),
        ({**SALARY, "amount": None}, "amount"),
        ({**SALARY, "start_date": None}, "start_date"),
        ({**SALARY, "end_date": "2023-01-01"}, "end_date"),
        ({**SALARY, "frequency": "fortnightly"}, "frequency"),
        ({**SALARY, "name": "  "}, "name"),
        ({**SALARY, "is_active": "yes"}, "is_active"),
        ({**SALARY, "owner": "me"}, "owner"),
        ({k: v for k, v in SALARY.items() if k != "name"}, "name"),
    ],
)
async def test_bad_sources_are_refused_naming_the_field_and_nothing_is_stored(env, body, field) -> None:
    me = env.person()
    response = await env.client.post(URL, json=body, headers=me.headers)
    assert response.status_code == 422, response.text
    assert field in error_fields(response)
    assert await env.count(IncomeSource, IncomeSource.user_id == me.user_id) == 0


async def test_malformed_json_is_a_400_and_updates_refuse_bad_values(env) -> None:
    me = env.person()
    raw = await env.client.post(URL, content=b'{"name": ', headers={**me.headers, "content-type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "MALFORMED_JSON"
    source = (await env.client.post(URL, json=SALARY, headers=me.headers)).json()["data"]
    for body, field in [
        ({"currency": None}, "currency"),
        ({"amount": None}, "amount"),
        ({"colour": "red"}, "colour"),
        ({"end_date": "2020-01-01"}, "end_date"),
    ]:
        response = await env.client.patch(f"{URL}/{source['id']}", json=body, headers=me.headers)
        assert response.status_code == 422, (body, response.text)
        assert field in error_fields(response)
    unchanged = (await env.client.get(f"{URL}/{source['id']}", headers=me.headers)).json()["data"]
    assert unchanged == source


async def test_another_users_source_is_a_404_for_every_verb(env) -> None:
    owner, other = env.person(), env.person()
    source = (await env.client.post(URL, json=SALARY, headers=owner.headers)).json()["data"]
    url = f"{URL}/{source['id']}"
    assert (await env.client.get(url, headers=other.headers)).status_code == 404
    assert (await env.client.patch(url, json={"name": "mine"}, headers=other.headers)).status_code == 404
    assert (await env.client.delete(url, headers=other.headers)).status_code == 404
    assert (await env.client.get(f"{URL}/{uuid.uuid4()}", headers=owner.headers)).status_code == 404
    listed = await env.client.get(URL, headers=other.headers)
    assert listed.json()["data"] == [] and listed.json()["pagination"]["total"] == 0
    assert (await env.client.get(url, headers=owner.headers)).json()["data"]["name"] == SALARY["name"]
    assert (await env.client.get(URL)).status_code == 401


async def test_list_filters_and_paginates(env) -> None:
    me = env.person()
    for i in range(3):
        await env.client.post(URL, json={**SALARY, "name": f"Job {i}"}, headers=me.headers)
    await env.client.post(URL, json={"name": "Shares", "type": "investment", "currency": "EUR"}, headers=me.headers)
    await env.client.post(
        URL, json={"name": "Old gig", "type": "freelance", "currency": "USD", "is_active": False}, headers=me.headers
    )

    async def names(**params) -> list[str]:
        response = await env.client.get(URL, params=params, headers=me.headers)
        assert response.status_code == 200, response.text
        return [s["name"] for s in response.json()["data"]]

    assert await names() == ["Old gig", "Shares", "Job 2", "Job 1", "Job 0"]
    assert await names(type="salary", limit=2, page=2) == ["Job 0"]
    assert await names(recurring="true") == ["Job 2", "Job 1", "Job 0"]
    assert await names(recurring="false") == ["Old gig", "Shares"]
    assert await names(active="false") == ["Old gig"]
    assert await names(currency="eur") == ["Shares"]
    page = (await env.client.get(URL, params={"limit": 2}, headers=me.headers)).json()["pagination"]
    assert page == {"page": 1, "limit": 2, "total": 5, "pages": 3, "has_next": True}
    for params, field in [
        ({"limit": 101}, "limit"),
        ({"page": 0}, "page"),
        ({"type": "x"}, "type"),
        ({"sort": "name"}, "sort"),
    ]:
        response = await env.client.get(URL, params=params, headers=me.headers)
        assert response.status_code == 422 and field in error_fields(response), (params, response.text)
