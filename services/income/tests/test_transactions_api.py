"""Income transactions over HTTP: net = amount - tax, income.* events in the outbox, filters, summaries, isolation."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pfms_income.models import IncomeTransaction, ProjectionInputs

from .conftest import error_fields

pytestmark = pytest.mark.integration

URL = "/api/v1/income/transactions"
SOURCES = "/api/v1/income/sources"
TODAY = datetime.now(UTC).date()


async def make_source(env, person, **overrides) -> dict:
    body = {"name": "Acme payroll", "type": "salary", "currency": "USD", **overrides}
    response = await env.client.post(SOURCES, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def record(env, person, **body) -> dict:
    response = await env.client.post(URL, json={"date": TODAY.isoformat(), **body}, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def version(env, person) -> int:
    async with env.svc.db.sessions() as session:
        row = await session.get(ProjectionInputs, person.user_id)
        return row.version if row else 0


async def test_recording_income_computes_net_and_publishes_income_received(env) -> None:
    me = env.person()
    source = await make_source(env, me)
    income = await record(
        env,
        me,
        source_id=source["id"],
        amount="5000",
        tax_deducted="1250.5",
        description="January pay",
        payment_method="bank_transfer",
        metadata={"payslip": "2025-01"},
    )
    assert (income["amount"], income["tax_deducted"], income["net_amount"]) == ("5000.00", "1250.50", "3749.50")
    assert (income["currency"], income["type"], income["source_id"]) == ("USD", "salary", source["id"])
    assert income["metadata"] == {"payslip": "2025-01"}
    assert (await env.client.get(f"{URL}/{income['id']}", headers=me.headers)).json()["data"] == income

    (event,) = await env.outbox("income.received")
    assert event["type"] == "income.received" and event["source"] == "income" and event["subject"] == str(me.user_id)
    assert event["data"] == {
        "user_id": str(me.user_id),
        "income_id": income["id"],
        "source_id": source["id"],
        "source_type": "salary",
        "amount": "5000",
        "tax_deducted": "1250.5",
        "net_amount": "3749.5",
        "currency": "USD",
        "received_date": TODAY.isoformat(),
        "description": "January pay",
        "account_id": None,
    }
    assert await version(env, me) == 2  # the source, then the income


async def test_without_a_source_currency_is_required_and_type_defaults_to_other(env) -> None:
    me = env.person()
    missing = await env.client.post(URL, json={"amount": "10", "date": TODAY.isoformat()}, headers=me.headers)
    assert missing.status_code == 422 and error_fields(missing) == ["currency"]
    income = await record(env, me, amount="10", currency="eur")
    assert (income["type"], income["currency"], income["net_amount"]) == ("other", "EUR", "10.00")
    gift = await record(env, me, amount="1500", currency="JPY", type="bonus", net_amount="1500")
    assert (gift["type"], gift["amount"]) == ("bonus", "1500")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "100", "tax_deducted": "20", "net_amount": "90"}, "net_amount"),
        ({"amount": "100", "tax_deducted": "120"}, "tax_deducted"),
        ({"amount": "100", "tax_deducted": "-1"}, "tax_deducted"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "10000000000000000"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "100", "date": (TODAY + timedelta(days=2)).isoformat()}, "date"),
        ({"amount": "100", "date": "31/01/2025"}, "date"),
        ({"amount": "100", "currency": "EURO"}, "currency"),
        ({"amount": "100", "type": "gift"}, "type"),
        ({"amount": "100", "metadata": {"x": "y" * 5000}}, "metadata"),
        ({"amount": "100", "category": "c" * 51}, "category"),
        ({"amount": "100", "tip": "5"}, "tip"),
        ({"amount": "100", "source_id": "not-a-uuid"}, "source_id"),
    ],
)
async def test_bad_income_is_refused_naming_the_field_and_nothing_is_recorded(env, body, field) -> None:
    me = env.person()
    response = await env.client.post(
        URL, json={"currency": "USD", "date": TODAY.isoformat(), **body}, headers=me.headers
    )
    assert response.status_code == 422, response.text
    assert field in error_fields(response)
    assert await env.count(IncomeTransaction, IncomeTransaction.user_id == me.user_id) == 0
    assert await env.outbox("income.received") == []


async def test_update_recomputes_net_and_publishes_income_updated(env) -> None:
    me = env.person()
    income = await record(env, me, amount="1000", tax_deducted="100", currency="USD")
    patched = await env.client.patch(
        f"{URL}/{income['id']}",
        json={"tax_deducted": "250", "date": "2024-12-31", "category": "Q4"},
        headers=me.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["data"]["net_amount"] == "750.00" and patched.json()["data"]["category"] == "Q4"
    (event,) = await env.outbox("income.updated")
    assert event["data"]["net_amount"] == "750.0000" and event["data"]["received_date"] == "2024-12-31"
    assert (event["data"]["previous_net_amount"], event["data"]["previous_received_date"]) == (
        "900.0000",
        TODAY.isoformat(),
    )
    same = await env.client.patch(f"{URL}/{income['id']}", json={"category": "Q4"}, headers=me.headers)
    assert same.status_code == 200 and len(await env.outbox("income.updated")) == 1, "no change, no event"

    for body, field in [
        ({"net_amount": "1"}, "net_amount"),
        ({"tax_deducted": "2000"}, "tax_deducted"),
        ({"amount": None}, "amount"),
        ({"currency": "JPY", "amount": "10.5"}, "amount"),
        ({"source_id": str(uuid.uuid4())}, "source_id"),
    ]:
        response = await env.client.patch(f"{URL}/{income['id']}", json=body, headers=me.headers)
        assert response.status_code in (404, 422) and field in error_fields(response), (body, response.text)
    assert (await env.client.get(f"{URL}/{income['id']}", headers=me.headers)).json()["data"] == patched.json()["data"]


async def test_income_names_the_account_it_was_paid_into(env) -> None:
    """The accounts service books income on the account its events name; the id is not checked here (no
    reads of another service's database), the accounts service books only on the user's own account."""
    me = env.person()
    checking, savings = str(uuid.uuid4()), str(uuid.uuid4())
    income = await record(env, me, amount="1000", currency="USD", account_id=checking)
    assert income["account_id"] == checking
    async with env.svc.db.sessions() as session:
        row = await session.get(IncomeTransaction, uuid.UUID(income["id"]))
        assert row is not None and str(row.account_id) == checking
    (received,) = await env.outbox("income.received")
    assert received["data"]["account_id"] == checking

    path = f"{URL}/{income['id']}"
    moved = await env.client.patch(path, json={"account_id": savings}, headers=me.headers)
    assert moved.status_code == 200 and moved.json()["data"]["account_id"] == savings
    (updated,) = await env.outbox("income.updated")
    assert updated["data"]["account_id"] == savings

    for body in ({"account_id": "not-a-uuid"}, {"account_id": 5}):
        response = await env.client.patch(path, json=body, headers=me.headers)
        assert response.status_code == 422 and error_fields(response) == ["account_id"], response.text
    response = await env.client.post(
        URL, json={"amount": "1", "currency": "USD", "date": TODAY.isoformat(), "account_id": "x"}, headers=me.headers
    )
    assert response.status_code == 422 and error_fields(response) == ["account_id"], response.text
    assert await env.count(IncomeTransaction, IncomeTransaction.user_id == me.user_id) == 1
    assert len(await env.outbox("income.updated")) == 1
    assert (await env.client.get(path, headers=me.headers)).json()["data"]["account_id"] == savings

    await env.client.delete(path, headers=me.headers)
    (deleted,) = await env.outbox("income.deleted")
    assert deleted["data"]["account_id"] == savings, "the accounts service reverses what it booked on that account"


async def test_delete_publishes_income_deleted(env) -> None:
    me = env.person()
    income = await record(env, me, amount="80", currency="GBP")
    deleted = await env.client.delete(f"{URL}/{income['id']}", headers=me.headers)
    assert deleted.status_code == 200 and deleted.json()["data"] == income
    (event,) = await env.outbox("income.deleted")
    assert event["data"]["income_id"] == income["id"] and event["data"]["net_amount"] == "80.0000"
    assert (await env.client.get(f"{URL}/{income['id']}", headers=me.headers)).status_code == 404


async def test_deleting_a_source_keeps_its_income_unlinked(env) -> None:
    me = env.person()
    source = await make_source(env, me, type="business")
    income = await record(env, me, amount="10", source_id=source["id"])
    await env.client.delete(f"{SOURCES}/{source['id']}", headers=me.headers)
    kept = (await env.client.get(f"{URL}/{income['id']}", headers=me.headers)).json()["data"]
    assert (kept["source_id"], kept["type"]) == (None, "business")


async def test_another_users_income_and_sources_are_404(env) -> None:
    owner, other = env.person(), env.person()
    source = await make_source(env, owner)
    income = await record(env, owner, amount="10", source_id=source["id"])
    url = f"{URL}/{income['id']}"
    assert (await env.client.get(url, headers=other.headers)).status_code == 404
    assert (await env.client.patch(url, json={"amount": "1"}, headers=other.headers)).status_code == 404
    assert (await env.client.delete(url, headers=other.headers)).status_code == 404
    stolen = await env.client.post(
        URL, json={"amount": "1", "date": TODAY.isoformat(), "source_id": source["id"]}, headers=other.headers
    )
    assert stolen.status_code == 404 and error_fields(stolen) == ["source_id"]
    mine = await record(env, other, amount="5", currency="USD")
    relink = await env.client.patch(f"{URL}/{mine['id']}", json={"source_id": source["id"]}, headers=other.headers)
    assert relink.status_code == 404
    assert (await env.client.get(URL, headers=other.headers)).json()["pagination"]["total"] == 1
    summary = (await env.client.get(f"{URL}/summary", headers=other.headers)).json()["data"]
    assert [t["amount"] for t in summary["totals"]] == ["5.00"]
    assert (await env.client.get(url, headers=owner.headers)).json()["data"]["amount"] == "10.00"


async def test_list_filters_sorts_and_paginates(env) -> None:
    me = env.person()
    salary = await make_source(env, me)
    rows = [
        {"amount": "3000", "date": "2025-01-31", "source_id": salary["id"], "description": "January salary"},
        {"amount": "3000", "date": "2025-02-28", "source_id": salary["id"], "description": "February salary"},
        {
            "amount": "450.50",
            "date": "2025-02-10",
            "currency": "USD",
            "type": "freelance",
            "category": "Design",
            "description": "Logo 100% done",
        },
        {"amount": "99", "date": "2025-03-01", "currency": "EUR", "type": "investment", "description": "Dividend"},
    ]
    for body in rows:
        await record(env, me, **body)

    async def descriptions(**params) -> list[str]:
        response = await env.client.get(URL, params=params, headers=me.headers)
        assert response.status_code == 200, response.text
        return [t["description"] for t in response.json()["data"]]

    assert await descriptions() == ["Dividend", "February salary", "Logo 100% done", "January salary"]
    assert await descriptions(date_from="2025-02-01", date_to="2025-02-28") == ["February salary", "Logo 100% done"]
    assert await descriptions(source_id=salary["id"], sort="date") == ["January salary", "February salary"]
    assert await descriptions(type="freelance") == ["Logo 100% done"]
    assert await descriptions(currency="eur") == ["Dividend"]
    assert await descriptions(category="design") == ["Logo 100% done"]
    assert await descriptions(min_amount="100", max_amount="500") == ["Logo 100% done"]
    assert await descriptions(q="SALARY feb") == ["February salary"]
    assert await descriptions(q="100%") == ["Logo 100% done"]
    assert await descriptions(q="_") == []
    assert await descriptions(sort="amount", limit=2, page=2) == ["February salary", "January salary"]  # ties: newest
    amounts = [
        t["amount"] for t in (await env.client.get(URL, params={"sort": "-amount"}, headers=me.headers)).json()["data"]
    ]
    assert amounts == ["3000.00", "3000.00", "450.50", "99.00"]
    page = await env.client.get(URL, params={"limit": 3, "page": 2}, headers=me.headers)
    assert len(page.json()["data"]) == 1 and page.json()["pagination"]["has_next"] is False
    for params, field in [
        ({"date_from": "2025-03-01", "date_to": "2025-01-01"}, "date_to"),
        ({"min_amount": "5", "max_amount": "1"}, "max_amount"),
        ({"sort": "description"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"source_id": "x"}, "source_id"),
        ({"colour": "red"}, "colour"),
    ]:
        response = await env.client.get(URL, params=params, headers=me.headers)
        assert response.status_code == 422 and field in error_fields(response), (params, response.text)


async def test_summary_totals_per_currency_and_group(env) -> None:
    me = env.person()
    salary = await make_source(env, me, name="Payroll")
    await record(env, me, amount="3000", tax_deducted="600", date="2025-01-31", source_id=salary["id"])
    await record(env, me, amount="3000", tax_deducted="600", date="2025-02-28", source_id=salary["id"])
    await record(env, me, amount="200", date="2025-02-10", currency="USD", type="freelance", category="Design")
    await record(env, me, amount="99.99", date="2025-02-11", currency="EUR", type="investment")

    async def summary(**params) -> dict:
        response = await env.client.get(f"{URL}/summary", params=params, headers=me.headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    by_month = await summary(group_by="month")
    assert by_month["totals"] == [
        {"currency": "EUR", "count": 1, "amount": "99.99", "tax_deducted": "0.00", "net_amount": "99.99"},
        {"currency": "USD", "count": 3, "amount": "6200.00", "tax_deducted": "1200.00", "net_amount": "5000.00"},
    ]
    assert [(g["key"], g["currency"], g["net_amount"]) for g in by_month["groups"]] == [
        ("2025-01", "USD", "2400.00"),
        ("2025-02", "EUR", "99.99"),
        ("2025-02", "USD", "2600.00"),
    ]
    by_source = await summary(group_by="source", currency="USD")
    assert [(g["key"], g["label"], g["count"]) for g in by_source["groups"]] == [
        (salary["id"], "Payroll", 2),
        (None, None, 1),
    ]
    by_type = await summary(group_by="type", date_from="2025-02-01", date_to="2025-02-28")
    assert [(g["key"], g["currency"], g["amount"]) for g in by_type["groups"]] == [
        ("freelance", "USD", "200.00"),
        ("investment", "EUR", "99.99"),
        ("salary", "USD", "3000.00"),
    ]
    by_category = await summary(group_by="category", currency="USD")
    assert [(g["key"], g["count"]) for g in by_category["groups"]] == [("Design", 1), (None, 2)]
    bad = await env.client.get(f"{URL}/summary", params={"group_by": "week"}, headers=me.headers)
    assert bad.status_code == 422 and error_fields(bad) == ["group_by"]
