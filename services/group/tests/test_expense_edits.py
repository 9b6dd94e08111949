"""Editing and deleting an expense: who may, what the balances, list, export and feed show after, the
events and notifications, and bad edits refused by field without changing anything."""

import uuid
from typing import Any

import pytest

from pfms_group.models import ExpenseDebt, ExpenseSplit, GroupExpense

pytestmark = pytest.mark.integration


async def test_edits_resplit_the_expense_and_move_the_balances(env) -> None:
    a, b, c = sorted((env.person(), env.person(), env.person()), key=lambda p: p.user_id)
    group_id = await env.group(a, b, c)
    dinner = await env.expense(group_id, a, amount="90.00")
    url = f"/api/v1/groups/{group_id}/expenses/{dinner['id']}"

    bigger = await env.client.patch(url, json={"amount": "120.00"}, headers=a.headers)
    assert bigger.status_code == 200, bigger.text
    assert [s["amount"] for s in bigger.json()["data"]["shares"]] == ["40.00"] * 3, "equal split carried over"
    assert bigger.json()["data"]["payers"] == [{"user_id": str(a.user_id), "amount": "120.00"}], "the one payer"
    assert await env.nets(group_id, a) == {a.user_id: "80.00", b.user_id: "-40.00", c.user_id: "-40.00"}

    renamed = await env.client.patch(url, json={"description": "Big dinner", "category": None}, headers=a.headers)
    assert renamed.json()["data"]["description"] == "Big dinner" and renamed.json()["data"]["group_amount"] == "120.00"

    # b alone owes 100 of it, c 20, and b paid it all
    unequal = {
        "split_type": "unequal",
        "participants": [{"user_id": str(b.user_id), "amount": "100.00"}, {"user_id": str(c.user_id), "amount": "20"}],
        "payers": [{"user_id": str(b.user_id), "amount": "120.00"}],
        "expense_date": "2026-11-21",
    }
    moved = await env.client.patch(url, json=unequal, headers=a.headers)
    assert moved.status_code == 200, moved.text
    assert await env.nets(group_id, a) == {a.user_id: "0.00", b.user_id: "20.00", c.user_id: "-20.00"}
    assert await env.count(ExpenseSplit) == 2 and await env.count(ExpenseDebt) == 1, "old lines replaced"
    [only] = (await env.balances(group_id, a))["debts"]
    assert (only["from_user_id"], only["to_user_id"], only["amount"]) == (str(c.user_id), str(b.user_id), "20.00")

    updated = await env.outbox("group.expense.updated")
    assert len(updated) == 3 and updated[-1]["user_id"] == str(a.user_id)
    assert updated[-1]["expense_date"] == "2026-11-21" and updated[-1]["split_type"] == "unequal"
    assert updated[-1]["shares"] == [
        {"user_id": str(b.user_id), "amount": "100.00"},
        {"user_id": str(c.user_id), "amount": "20.00"},
    ]
    notes = [n for n in await env.outbox("notification.requested") if n["title"].startswith("Expense changed")]
    assert {n["user_id"] for n in notes[-2:]} == {str(b.user_id), str(c.user_id)}
    assert len({n["dedupe_key"] for n in notes}) == len(notes), "each edit notifies afresh"


async def test_who_may_edit_or_delete(env) -> None:
    admin, author, other, viewer, stranger = (env.person() for _ in range(5))
    group_id = await env.group(admin, author, other)
    await env.join(group_id, admin, viewer, role="viewer")
    expense = await env.expense(group_id, author, amount="30.00", participants=[{"user_id": str(author.user_id)}])
    url = f"/api/v1/groups/{group_id}/expenses/{expense['id']}"
    assert (await env.client.patch(url, json={"description": "x"}, headers=other.headers)).status_code == 403
    assert (await env.client.delete(url, headers=other.headers)).status_code == 403
    assert (await env.client.patch(url, json={"description": "x"}, headers=viewer.headers)).status_code == 403
    assert (await env.client.delete(url, headers=viewer.headers)).status_code == 403
    assert (await env.client.patch(url, json={"description": "x"}, headers=stranger.headers)).status_code == 404
    assert (await env.client.delete(url, headers=stranger.headers)).status_code == 404
    unknown = f"/api/v1/groups/{group_id}/expenses/{uuid.uuid4()}"
    assert (await env.client.delete(unknown, headers=admin.headers)).status_code == 404
    other_group = await env.group(stranger)
    foreign = f"/api/v1/groups/{other_group}/expenses/{expense['id']}"
    assert (await env.client.delete(foreign, headers=stranger.headers)).status_code == 404, "not that group's"
    assert await env.outbox("group.expense.updated") == [] and await env.outbox("group.expense.deleted") == []
    mine = await env.client.patch(url, json={"description": "Taxi"}, headers=author.headers)
    assert mine.status_code == 200
    by_admin = await env.client.patch(url, json={"description": "Cab"}, headers=admin.headers)
    assert by_admin.json()["data"]["description"] == "Cab"


async def test_bad_edits_are_refused_by_field_and_change_nothing(env) -> None:
    a, b = sorted((env.person(), env.person()), key=lambda p: p.user_id)
    group_id = await env.group(a, b)
    two_payers = [{"user_id": str(a.user_id), "amount": "6.00"}, {"user_id": str(b.user_id), "amount": "4.00"}]
    expense = await env.expense(group_id, a, amount="10.00", payers=two_payers)
    url = f"/api/v1/groups/{group_id}/expenses/{expense['id']}"
    before = await env.nets(group_id, a)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount": None}, "amount"),
        ({"participants": None}, "participants"),  # fuzzing: a null list reached the once-each check (500)
        ({"payers": None}, "payers"),
        ({"description": ""}, "description"),
        ({"amount": "ten"}, "amount"),
        ({"tip": "1"}, "tip"),
        ({"amount": "12.00"}, "payers"),  # two payers: their amounts do not follow a new amount
        ({"split_type": "percentage"}, "participants.0.percentage"),
        ({"participants": [{"user_id": str(uuid.uuid4())}]}, "participants.0.user_id"),
        ({"payers": [{"user_id": str(a.user_id), "amount": "9.00"}]}, "payers"),
        ({"split_type": "unequal", "participants": [{"user_id": str(a.user_id), "amount": "3"}]}, "participants"),
        ({"currency": "ABC"}, "currency"),
    ]
    for body, field in cases:
        response = await env.client.patch(url, json=body, headers=a.headers)
        assert response.status_code == 422, (body, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], (body, response.text)
    malformed = await env.client.patch(
        url, content=b"{not json", headers={**a.headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert await env.nets(group_id, a) == before
    assert await env.outbox("group.expense.updated") == []
    same = await env.client.get(url, headers=b.headers)
    assert same.json()["data"]["payers"] == expense["payers"] and same.json()["data"]["amount"] == "10.00"


async def test_a_deleted_expense_leaves_balances_list_and_export_but_stays_in_the_feed(env) -> None:
    a, b = sorted((env.person(), env.person()), key=lambda p: p.user_id)
    group_id = await env.group(a, b)
    base = f"/api/v1/groups/{group_id}"
    kept = await env.expense(group_id, a, amount="10.00", description="Taxi")
    dinner = await env.expense(group_id, b, amount="42.00", description="Dinner")
    # a settles up first: edits and deletions after a confirmed settlement simply move the balances
    debt = (await env.balances(group_id, a))["debts"][0]
    payer = a if debt["from_user_id"] == str(a.user_id) else b
    receiver = b if payer is a else a
    made = await env.client.post(
        f"{base}/settle", json={"to_user_id": debt["to_user_id"], "amount": debt["amount"]}, headers=payer.headers
    )
    await env.client.post(f"{base}/settlements/{made.json()['data']['id']}/confirm", headers=receiver.headers)
    assert set((await env.nets(group_id, a)).values()) == {"0.00"}

    gone = await env.client.delete(f"{base}/expenses/{dinner['id']}", headers=b.headers)
    assert gone.status_code == 204
    assert (await env.client.get(f"{base}/expenses/{dinner['id']}", headers=a.headers)).status_code == 404
    assert (await env.client.delete(f"{base}/expenses/{dinner['id']}", headers=b.headers)).status_code == 404
    listed = await env.client.get(f"{base}/expenses", headers=a.headers)
    assert [e["id"] for e in listed.json()["data"]] == [kept["id"]]
    exported = await env.client.get(f"{base}/export", params={"format": "json"}, headers=a.headers)
    assert dinner["id"] not in {e["id"] for e in exported.json()["entries"]}
    nets = await env.nets(group_id, a)
    assert nets == {a.user_id: "21.00", b.user_id: "-21.00"}, "a's payment of 16.00 stays; the dinner is gone"
    assert await env.count(ExpenseSplit, ExpenseSplit.expense_id == uuid.UUID(dinner["id"])) == 0
    assert await env.count(GroupExpense) == 1

    feed = (await env.client.get(f"{base}/activity", headers=a.headers)).json()["data"]
    deleted = next(e for e in feed if e["action"] == "expense.deleted")
    assert deleted["actor_id"] == str(b.user_id) and deleted["subject_id"] == dinner["id"]
    assert (deleted["details"]["description"], deleted["details"]["amount"], deleted["details"]["currency"]) == (
        "Dinner",
        "42.00",
        "USD",
    )
    [event] = await env.outbox("group.expense.deleted")
    assert (event["user_id"], event["group_id"], event["expense_id"]) == (str(b.user_id), group_id, dinner["id"])
    assert event["payers"] == [{"user_id": str(b.user_id), "amount": "42.00"}]
    told = [n for n in await env.outbox("notification.requested") if n["title"].startswith("Expense deleted")]
    assert [n["user_id"] for n in told] == [str(a.user_id)]
