"""Expenses of every split type, balances (simplified and pairwise), and the ledger export."""

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

import pytest

from pfms_devservers import free_port
from pfms_group.models import ExpenseSplit, GroupExpense

pytestmark = pytest.mark.integration


async def test_every_split_type_adds_up_and_balances_follow(env) -> None:
    a, b, c = env.person(), env.person(), env.person()
    a, b, c = sorted((a, b, c), key=lambda p: p.user_id)
    group_id = await env.group(a, b, c)
    equal = await env.expense(group_id, a, amount="100.00")
    assert [s["amount"] for s in equal["shares"]] == ["33.34", "33.33", "33.33"]
    assert equal["payers"] == [{"user_id": str(a.user_id), "amount": "100.00"}]
    unequal = await env.expense(
        group_id,
        b,
        amount="30.00",
        split_type="unequal",
        participants=[{"user_id": str(a.user_id), "amount": "10.00"}, {"user_id": str(c.user_id), "amount": "20.00"}],
    )
    assert [s["amount"] for s in unequal["shares"]] == ["10.00", "20.00"]
    percentage = await env.expense(
        group_id,
        c,
        amount="10.00",
        split_type="percentage",
        participants=[{"user_id": str(a.user_id), "percentage": "50"}, {"user_id": str(b.user_id), "percentage": "50"}],
    )
    assert [s["amount"] for s in percentage["shares"]] == ["5.00", "5.00"]
    weight = await env.expense(
        group_id,
        a,
        amount="40.00",
        split_type="weight",
        participants=[{"user_id": str(b.user_id), "weight": "3"}, {"user_id": str(c.user_id), "weight": "1"}],
    )
    assert [s["amount"] for s in weight["shares"]] == ["30.00", "10.00"]
    custom = await env.expense(
        group_id,
        b,
        amount="20.00",
        split_type="custom",
        participants=[
            {"user_id": str(a.user_id), "amount": "2.00"},
            {"user_id": str(b.user_id)},
            {"user_id": str(c.user_id)},
        ],
        payers=[{"user_id": str(b.user_id), "amount": "15.00"}, {"user_id": str(c.user_id), "amount": "5.00"}],
    )
    assert [s["amount"] for s in custom["shares"]] == ["2.00", "9.00", "9.00"]
    # a: paid 140, share 33.34+10+5+2 = 50.34 → +89.66
    # b: paid 30+15 = 45, share 33.33+5+30+9 = 77.33 → -32.33
    # c: paid 10+5 = 15, share 33.33+20+10+9 = 72.33 → -57.33
    nets = await env.nets(group_id, a)
    assert nets == {a.user_id: "89.66", b.user_id: "-32.33", c.user_id: "-57.33"}
    data = await env.balances(group_id, a)
    assert data["simplified"] is True
    assert [(d["from_user_id"], d["to_user_id"], d["amount"]) for d in data["debts"]] == [
        (str(c.user_id), str(a.user_id), "57.33"),
        (str(b.user_id), str(a.user_id), "32.33"),
    ]
    events = await env.outbox("group.expense.created")
    assert len(events) == 5
    assert events[0]["group_id"] == group_id and events[0]["split_type"] == "equal"
    assert sum(Decimal(s["amount"]) for s in events[4]["shares"]) == Decimal("20.00")
    listed = await env.client.get(f"/api/v1/groups/{group_id}/expenses", params={"limit": 2}, headers=c.headers)
    assert listed.json()["pagination"] == {"page": 1, "limit": 2, "total": 5, "pages": 3, "has_next": True}
    one = await env.client.get(f"/api/v1/groups/{group_id}/expenses/{custom['id']}", headers=c.headers)
    assert one.json()["data"]["payers"] == custom["payers"]


async def test_pairwise_debts_when_simplification_is_off(env) -> None:
    a, b, c = sorted((env.person(), env.person(), env.person()), key=lambda p: p.user_id)
    group_id = await env.group(a, b, c, simplify_debts=False)
    await env.expense(group_id, a, amount="30.00")  # b and c owe a 10 each
    await env.expense(group_id, b, amount="60.00")  # a and c owe b 20 each
    data = await env.balances(group_id, c)
    assert data["simplified"] is False
    assert [(d["from_user_id"], d["to_user_id"], d["amount"]) for d in data["debts"]] == [
        (str(c.user_id), str(b.user_id), "20.00"),
        (str(a.user_id), str(b.user_id), "10.00"),
        (str(c.user_id), str(a.user_id), "10.00"),
    ]
    mine = await env.client.get(
        f"/api/v1/groups/{group_id}/balances", params={"member": str(a.user_id)}, headers=c.headers
    )
    assert [(d["from_user_id"], d["to_user_id"]) for d in mine.json()["data"]["debts"]] == [
        (str(a.user_id), str(b.user_id)),
        (str(c.user_id), str(a.user_id)),
    ]
    assert len(mine.json()["data"]["members"]) == 3
    url = f"/api/v1/groups/{group_id}/balances"
    first = await env.client.get(url, params={"limit": 2}, headers=c.headers)
    assert [d["amount"] for d in first.json()["data"]["debts"]] == ["20.00", "10.00"]
    assert first.json()["data"]["debts_page"] == {"page": 1, "limit": 2, "total": 3, "pages": 2, "has_next": True}
    second = await env.client.get(url, params={"limit": 2, "page": 2}, headers=c.headers)
    assert [(d["from_user_id"], d["to_user_id"]) for d in second.json()["data"]["debts"]] == [
        (str(c.user_id), str(a.user_id))
    ]
    beyond = await env.client.get(url, params={"limit": 2, "page": 3}, headers=c.headers)
    assert beyond.json()["data"]["debts"] == [] and beyond.json()["data"]["debts_page"]["total"] == 3
    too_many = await env.client.get(url, params={"limit": 101}, headers=c.headers)
    assert too_many.status_code == 422 and too_many.json()["error"]["details"][0]["field"] == "limit"


async def test_bad_splits_are_refused_by_field_and_change_nothing(env) -> None:
    a, b = env.person(), env.person()
    group_id = await env.group(a, b)
    stranger = str(uuid.uuid4())
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"amount": "10.00", "split_type": "unequal", "participants": [{"user_id": str(a.user_id), "amount": "3"}]},
            "participants",
        ),
        (
            {
                "amount": "10.00",
                "split_type": "percentage",
                "participants": [{"user_id": str(a.user_id), "percentage": "60"}],
            },
            "participants",
        ),
        (
            {"amount": "10.00", "split_type": "weight", "participants": [{"user_id": str(a.user_id)}]},
            "participants.0.weight",
        ),
        ({"amount": "10.00", "participants": [{"user_id": stranger}]}, "participants.0.user_id"),
        ({"amount": "10.00", "payers": [{"user_id": str(a.user_id), "amount": "9.99"}]}, "payers"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"amount": "10", "currency": "ABC"}, "currency"),
        ({"amount": "10", "tip": "1"}, "tip"),
        (
            {
                "amount": "10",
                "payers": [{"user_id": str(a.user_id), "amount": "5"}, {"user_id": str(a.user_id), "amount": "5"}],
            },
            "payers",
        ),
    ]
    for body, field in cases:
        response = await env.client.post(
            f"/api/v1/groups/{group_id}/expenses",
            json={"description": "x", "expense_date": "2026-11-01", **body},
            headers=a.headers,
        )
        assert response.status_code == 422, (body, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], (body, response.text)
    assert await env.count(GroupExpense) == 0 and await env.count(ExpenseSplit) == 0
    assert await env.outbox("group.expense.created") == []


async def test_export_as_csv_and_json(env) -> None:
    a, b = env.person(), env.person()
    group_id = await env.group(a, b)
    await env.expense(group_id, a, amount="12.00", description="Taxi, airport")
    response = await env.client.get(f"/api/v1/groups/{group_id}/export", headers=b.headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["description"] == "Taxi, airport" and row["group_amount"] == "12.00" and row["kind"] == "expense"
    assert row["shares"] == ";".join(f"{u}:6.00" for u in sorted(str(p.user_id) for p in (a, b)))
    as_json = await env.client.get(f"/api/v1/groups/{group_id}/export", params={"format": "json"}, headers=b.headers)
    assert as_json.json()["entries"][0]["paid_by"] == [{"user_id": str(a.user_id), "amount": "12.00"}]
    bad = await env.client.get(f"/api/v1/groups/{group_id}/export", params={"format": "xml"}, headers=b.headers)
    assert bad.status_code == 422


async def test_market_data_down_means_503_and_nothing_written(start) -> None:
    env = await start(internal_attempts=1, service_urls={"market-data": f"http://127.0.0.1:{free_port()}"})
    a = env.person()
    group_id = await env.group(a)
    response = await env.client.post(
        f"/api/v1/groups/{group_id}/expenses",
        json={"description": "Hotel", "amount": "80.00", "currency": "EUR", "expense_date": "2026-11-20"},
        headers=a.headers,
    )
    assert response.status_code == 503 and response.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert await env.count(GroupExpense) == 0 and await env.outbox("group.expense.created") == []
    same_currency = await env.expense(group_id, a, amount="80.00")
    assert same_currency["fx_rate"] == "1.0000000000" and same_currency["fx_source"] is None
