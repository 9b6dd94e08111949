"""Deductions CRUD over HTTP: categories of the user's regime, statuses, documents, ownership."""

import uuid

import pytest

from pfms_tax.models import TaxDeduction

from .conftest import error_fields

pytestmark = pytest.mark.integration

URL = "/api/v1/tax/deductions"


def body(**extra: object) -> dict[str, object]:
    return {
        "tax_year": 2024,
        "category": "charitable",
        "amount": "250.00",
        "currency": "usd",
        "description": "Food bank",
        "deduction_date": "2024-05-01",
        "document_reference": "receipts/2024/food-bank.pdf",
        **extra,
    }


async def test_create_read_update_list_delete(env) -> None:
    me = env.person()
    created = await env.client.post(URL, json=body(), headers=me.headers)
    assert created.status_code == 201, created.text
    row = created.json()["data"]
    assert (row["amount"], row["currency"], row["status"]) == ("250.00", "USD", "claimed")
    assert row["document_reference"] == "receipts/2024/food-bank.pdf"

    fetched = await env.client.get(f"{URL}/{row['id']}", headers=me.headers)
    assert fetched.json()["data"] == row
    patched = await env.client.patch(
        f"{URL}/{row['id']}", json={"status": "approved", "amount": "300"}, headers=me.headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["data"]["status"], patched.json()["data"]["amount"]) == ("approved", "300.00")
    assert patched.json()["data"]["description"] == "Food bank"

    await env.client.post(URL, json=body(tax_year=2025, category="medical", amount="80"), headers=me.headers)
    listed = (await env.client.get(URL, params={"year": 2024}, headers=me.headers)).json()
    assert [d["id"] for d in listed["data"]] == [row["id"]] and listed["pagination"]["total"] == 1
    huge = await env.client.get(URL, params={"year": 10**20}, headers=me.headers)  # fuzzing found a 500
    assert huge.status_code == 422 and error_fields(huge) == ["year"], huge.text
    by_status = (await env.client.get(URL, params={"status": "approved"}, headers=me.headers)).json()
    assert by_status["pagination"]["total"] == 1
    page = (await env.client.get(URL, params={"limit": 1, "page": 1}, headers=me.headers)).json()
    assert page["pagination"] == {"page": 1, "limit": 1, "total": 2, "pages": 2, "has_next": True}

    assert (await env.client.delete(f"{URL}/{row['id']}", headers=me.headers)).status_code == 204
    assert (await env.client.get(f"{URL}/{row['id']}", headers=me.headers)).status_code == 404


async def test_bad_input_names_the_field_and_changes_nothing(env) -> None:
    me = env.person()
    cases = [
        (body(amount="-5"), "amount"),
        (body(amount=12.5), None),  # a JSON number is accepted as a decimal
        (body(currency="XXY"), "currency"),
        (body(status="pending"), "status"),
        (body(tax_year="last"), "tax_year"),
        (body(receipt="x"), "receipt"),
        (body(amount="1.234"), "amount"),
    ]
    for payload, field in cases:
        response = await env.client.post(URL, json=payload, headers=me.headers)
        if field is None:
            assert response.status_code == 201
            await env.client.delete(f"{URL}/{response.json()['data']['id']}", headers=me.headers)
            continue
        assert response.status_code == 422, payload
        assert field in error_fields(response), response.text
    malformed = await env.client.post(URL, content=b"{", headers={**me.headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert await env.count(TaxDeduction, TaxDeduction.user_id == me.user_id) == 0

    row = (await env.client.post(URL, json=body(), headers=me.headers)).json()["data"]
    nulled = await env.client.patch(f"{URL}/{row['id']}", json={"amount": None}, headers=me.headers)
    assert nulled.status_code == 422 and error_fields(nulled) == ["amount"]


async def test_with_a_profile_the_category_must_be_one_of_its_regime(env) -> None:
    me = env.person()
    await env.profile(me, 2025, country_code="GB")
    wrong = await env.client.post(URL, json=body(tax_year=2025, currency="GBP"), headers=me.headers)
    assert wrong.status_code == 422 and error_fields(wrong) == ["category"]
    right = await env.client.post(
        URL, json=body(tax_year=2025, currency="GBP", category="pension_contribution"), headers=me.headers
    )
    assert right.status_code == 201


async def test_another_users_deduction_is_404(env) -> None:
    me, other = env.person(), env.person()
    row = (await env.client.post(URL, json=body(), headers=me.headers)).json()["data"]
    for method in ("get", "delete"):
        response = await getattr(env.client, method)(f"{URL}/{row['id']}", headers=other.headers)
        assert response.status_code == 404
    patched = await env.client.patch(f"{URL}/{row['id']}", json={"status": "rejected"}, headers=other.headers)
    assert patched.status_code == 404
    assert (await env.client.get(f"{URL}/{uuid.uuid4()}", headers=me.headers)).status_code == 404
    assert (await env.client.get(URL, headers=other.headers)).json()["data"] == []
    assert (await env.client.get(f"{URL}/{row['id']}", headers=me.headers)).json()["data"]["status"] == "claimed"
