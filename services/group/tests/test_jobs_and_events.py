"""Recurring group expenses materialise once per occurrence, even with two schedulers; a deleted
account leaves its groups without breaking anyone's ledger."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from pfms_contracts.identity import UserDeleted
from pfms_devservers import free_port
from pfms_group import scheduler
from pfms_group.models import FinanceGroup, GroupExpense, GroupMember, GroupMessage, RecurringGroupExpense

pytestmark = pytest.mark.integration


async def test_recurring_expense_materialises_each_occurrence_once(env) -> None:
    a, b = env.person(), env.person()
    group_id = await env.group(a, b)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=14)
    created = await env.client.post(
        f"/api/v1/groups/{group_id}/recurring",
        json={"description": "Cleaner", "amount": "30.00", "frequency": "weekly", "start_date": start.isoformat()},
        headers=a.headers,
    )
    assert created.status_code == 201, created.text
    bad = await env.client.post(
        f"/api/v1/groups/{group_id}/recurring",
        json={"description": "x", "amount": "1", "frequency": "hourly", "start_date": start.isoformat()},
        headers=a.headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "frequency"
    market = env.svc.app.state.market
    # two instances' passes at once: SKIP LOCKED and the occurrence key keep it to one each
    made = await asyncio.gather(*(scheduler.materialise_due(env.svc.db, market, today) for _ in range(2)))
    assert sum(made) == 3
    assert await scheduler.materialise_due(env.svc.db, market, today) == 0
    days = [date.fromisoformat(e["expense_date"]) for e in await env.outbox("group.expense.created")]
    assert sorted(days) == [start, start + timedelta(days=7), today]
    [schedule] = (await env.client.get(f"/api/v1/groups/{group_id}/recurring", headers=b.headers)).json()["data"]
    assert schedule["next_date"] == (today + timedelta(days=7)).isoformat()
    assert (await env.nets(group_id, a))[a.user_id] == "45.00"
    stopped = await env.client.delete(f"/api/v1/groups/{group_id}/recurring/{schedule['id']}", headers=a.headers)
    assert stopped.status_code == 204
    assert await env.count(GroupExpense) == 3 and await env.count(RecurringGroupExpense) == 0


async def test_a_schedule_whose_member_left_is_paused(env) -> None:
    a, b = env.person(), env.person()
    group_id = await env.group(a, b)
    today = datetime.now(UTC).date()
    await env.client.post(
        f"/api/v1/groups/{group_id}/recurring",
        json={"description": "Rent", "amount": "10", "frequency": "monthly", "start_date": today.isoformat()},
        headers=a.headers,
    )
    # b leaves before the first occurrence (nothing owed yet)
    assert (await env.client.post(f"/api/v1/groups/{group_id}/leave", headers=b.headers)).status_code == 204
    made = await scheduler.materialise_due(env.svc.db, env.svc.app.state.market, today)
    assert made == 1, "participants default to the members at each occurrence"
    explicit = await env.client.post(
        f"/api/v1/groups/{group_id}/recurring",
        json={
            "description": "Gym",
            "amount": "10",
            "frequency": "monthly",
            "start_date": (today + timedelta(days=1)).isoformat(),
            "split_type": "equal",
            "participants": [{"user_id": str(a.user_id)}],
        },
        headers=a.headers,
    )
    assert explicit.status_code == 201
    await env.join(group_id, a, b)
    gone = await env.client.post(
        f"/api/v1/groups/{group_id}/recurring",
        json={
            "description": "Bike",
            "amount": "10",
            "frequency": "monthly",
            "start_date": today.isoformat(),
            "participants": [{"user_id": str(b.user_id)}],
        },
        headers=a.headers,
    )
    assert gone.status_code == 201
    assert (await env.client.post(f"/api/v1/groups/{group_id}/leave", headers=b.headers)).status_code == 204
    assert await scheduler.materialise_due(env.svc.db, env.svc.app.state.market, today) == 0
    paused = await env.count(RecurringGroupExpense, RecurringGroupExpense.active.is_(False))
    assert paused == 1


async def test_user_deleted_keeps_other_ledgers_whole(env) -> None:
    gone, friend = env.person(), env.person()
    solo = await env.group(gone, name="Just me")
    shared = await env.group(gone, friend, name="Shared")
    untouched = await env.group(friend, gone, name="Friend's")
    await env.expense(shared, gone, amount="20.00")
    await env.client.post(f"/api/v1/groups/{shared}/messages", json={"content": "hello"}, headers=gone.headers)
    await env.publish(UserDeleted(user_id=gone.user_id, deleted_at=datetime.now(UTC)))

    async def purged() -> bool:
        return await env.count(GroupMember, GroupMember.user_id == gone.user_id, GroupMember.status == "active") == 0

    await env.until(purged)
    assert await env.count(FinanceGroup, FinanceGroup.id == uuid.UUID(solo)) == 0
    assert await env.count(GroupMessage, GroupMessage.user_id == gone.user_id) == 0
    # in the shared group the ledger stays: the member is an anonymous `deleted` one, friend becomes admin
    data = await env.balances(shared, friend)
    by_user = {m["user_id"]: m for m in data["members"]}
    assert by_user[str(gone.user_id)]["status"] == "deleted" and by_user[str(friend.user_id)]["net"] == "-10.00"
    me = await env.client.get(f"/api/v1/groups/{shared}", headers=friend.headers)
    assert me.json()["data"]["role"] == "admin"
    # where they had no ledger entries they are simply gone
    members = await env.client.get(f"/api/v1/groups/{untouched}/members", headers=friend.headers)
    assert [m["user_id"] for m in members.json()["data"]] == [str(friend.user_id)]


async def test_a_schedule_waits_while_market_data_is_down_and_the_others_go_ahead(start) -> None:
    env = await start(internal_attempts=1, service_urls={"market-data": f"http://127.0.0.1:{free_port()}"})
    a = env.person()
    group_id = await env.group(a)
    today = datetime.now(UTC).date()
    for currency in ("EUR", "USD"):
        created = await env.client.post(
            f"/api/v1/groups/{group_id}/recurring",
            json={
                "description": currency,
                "amount": "9",
                "currency": currency,
                "frequency": "monthly",
                "start_date": today.isoformat(),
            },
            headers=a.headers,
        )
        assert created.status_code == 201
    assert await scheduler.materialise_due(env.svc.db, env.svc.app.state.market, today) == 1
    waiting = await env.count(
        RecurringGroupExpense, RecurringGroupExpense.next_date == today, RecurringGroupExpense.active
    )
    assert waiting == 1, "the EUR schedule keeps its date for the next pass"
