"""Shared spaces: expenses, budgets and recurring expenses of a household, by role, from real
`space.membership_changed` snapshots on the bus; a space budget sums every member's expenses and
alerts every member; a deleted member's space rows (and the categories they file under) stay the space's."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from pfms_contracts.identity import UserDeleted
from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_expense.models import Budget, Category, Expense, RecurringExpense
from pfms_expense.scheduler import today_utc
from pfms_platform.spaces import SpaceMembership

pytestmark = pytest.mark.integration

EXPENSES, BUDGETS, RECURRING = "/api/v1/expenses", "/api/v1/budgets", "/api/v1/expenses/recurring"


def snapshot(
    space: uuid.UUID, owner: uuid.UUID, version: int, members: dict[uuid.UUID, str], *, deleted: bool = False
) -> SpaceMembershipChanged:
    return SpaceMembershipChanged(
        user_id=owner,
        space_id=space,
        kind="household",
        name="Home",
        space_version=version,
        deleted=deleted,
        members=[SpaceMember(user_id=u, role=r) for u, r in members.items()],
    )


async def test_a_household_shares_expenses_and_budgets_by_role(env) -> None:
    owner, member, viewer, stranger = [await env.signup() for _ in range(4)]
    space = uuid.uuid4()
    await env.publish(snapshot(space, owner.user_id, 1, {owner.user_id: "owner", member.user_id: "member"}))
    await env.publish(
        snapshot(space, owner.user_id, 2, {owner.user_id: "owner", member.user_id: "member", viewer.user_id: "viewer"})
    )

    async def joined() -> bool:
        return await env.count(SpaceMembership, SpaceMembership.space_id == space) == 3

    await env.until(joined)

    def inside(person: Any) -> dict[str, str]:
        return {**person.headers, "X-Space-ID": str(space)}

    client, today = env.client, today_utc().isoformat()
    food = await env.category_id(owner, "Food & Dining")
    groceries = await env.category_id(owner, "Groceries")
    made = await client.post(
        BUDGETS,
        json={
            "name": "Household food",
            "amount": "100.00",
            "currency": "USD",
            "period": "monthly",
            "start_date": today_utc().replace(day=1).isoformat(),
            "category_id": food,
            "alert_thresholds": [50, 100],
        },
        headers=inside(owner),
    )
    budget = env.data(made)
    assert budget["space_id"] == str(space)

    # The owner's personal spending never counts; both members' shared spending does, under the owner's
    # categories (a member may name any member's category in the space).
    await env.expense(owner, amount="500.00", category_id=food, expense_date=today)
    shared = env.data(
        await client.post(
            EXPENSES,
            json={"amount": "30.00", "currency": "USD", "category_id": food, "expense_date": today},
            headers=inside(owner),
        )
    )
    assert await env.outbox("budget.threshold_reached") == []
    theirs = env.data(
        await client.post(
            EXPENSES,
            json={"amount": "25.00", "currency": "USD", "category_id": groceries, "expense_date": today},
            headers=inside(member),
        )
    )
    assert theirs["space_id"] == str(space)
    alerts = await env.outbox("budget.threshold_reached")
    assert sorted(a["user_id"] for a in alerts) == sorted(str(p.user_id) for p in (owner, member, viewer))
    assert {(a["budget_id"], a["space_id"], a["threshold_percent"], a["spent"]) for a in alerts} == {
        (budget["id"], str(space), 50, "55.00")
    }, "one alert per member, once"
    created = [e for e in await env.outbox("expense.created") if e["space_id"] == str(space)]
    assert {(e["user_id"], e["expense_id"]) for e in created} == {
        (str(owner.user_id), shared["id"]),
        (str(member.user_id), theirs["id"]),
    }, "the creator stays user_id; the event names the space"

    # Everyone in the space sees the same; personal views show none of it.
    for person in (owner, member, viewer):
        listed = env.data(await client.get(EXPENSES, headers=inside(person)))
        assert {e["id"] for e in listed} == {shared["id"], theirs["id"]}
        status = env.data(await client.get(f"{BUDGETS}/{budget['id']}/status", headers=inside(person)))
        assert (status["spent"], status["thresholds_reached"]) == ("55.00", [50])
        filtered = env.data(await client.get(EXPENSES, params={"category_id": food}, headers=inside(person)))
        assert len(filtered) == 2, "the category filter follows the owner's tree in the space"
    assert [e["amount"] for e in env.data(await client.get(EXPENSES, headers=owner.headers))] == ["500.00"]
    assert env.data(await client.get(EXPENSES, headers=member.headers)) == []
    assert env.data(await client.get(BUDGETS, headers=owner.headers)) == []
    assert (await client.get(f"{EXPENSES}/{shared['id']}", headers=owner.headers)).status_code == 404
    assert (await client.get(f"{BUDGETS}/{budget['id']}", headers=owner.headers)).status_code == 404

    # A member edits the owner's shared expense: it crosses 100 % and every member hears of it.
    edited = await client.patch(f"{EXPENSES}/{shared['id']}", json={"amount": "80.00"}, headers=inside(member))
    assert env.data(edited)["amount"] == "80.00"
    assert {(a["user_id"], a["threshold_percent"]) for a in await env.outbox("budget.threshold_reached")} >= {
        (str(p.user_id), 100) for p in (owner, member, viewer)
    }

    # The owner's own category, used by another member in the space: not deletable, merged with what uses it.
    snacks = env.data(
        await client.post("/api/v1/categories", json={"name": "Snacks", "parent_id": food}, headers=owner.headers)
    )["id"]
    snack = env.data(
        await client.post(
            EXPENSES,
            json={"amount": "5.00", "currency": "USD", "category_id": snacks, "expense_date": today},
            headers=inside(member),
        )
    )
    refused = await client.delete(f"/api/v1/categories/{snacks}", headers=owner.headers)
    assert refused.status_code == 409, refused.text
    merged = env.data(
        await client.post(f"/api/v1/categories/{snacks}/merge", json={"into_id": food}, headers=owner.headers)
    )
    assert merged["moved_expenses"] == 1
    moved = env.data(await client.get(f"{EXPENSES}/{snack['id']}", headers=inside(member)))
    assert moved["category_id"] == food
    status = env.data(await client.get(f"{BUDGETS}/{budget['id']}/status", headers=inside(member)))
    assert status["spent"] == "110.00"
    period = {"group_by": "category", "date_from": today, "date_to": today}
    shared_summary = env.data(await client.get(f"{EXPENSES}/summary", params=period, headers=inside(viewer)))
    assert (shared_summary["total"], shared_summary["unconverted"]) == ("110.00", [])
    mine = env.data(await client.get(f"{EXPENSES}/summary", params=period, headers=owner.headers))
    assert mine["total"] == "500.00", "the summary follows the scope too"

    # The viewer reads only: every write is 403 and changes nothing.
    before = await env.count(Expense, Expense.space_id == space)
    for method, url, body in (
        ("POST", EXPENSES, {"amount": "1.00", "currency": "USD", "expense_date": today}),
        ("PATCH", f"{EXPENSES}/{theirs['id']}", {"amount": "1.00"}),
        ("DELETE", f"{EXPENSES}/{theirs['id']}", None),
        ("PATCH", f"{BUDGETS}/{budget['id']}", {"amount": "1.00"}),
        ("DELETE", f"{BUDGETS}/{budget['id']}", None),
        (
            "POST",
            RECURRING,
            {"name": "x", "amount": "1", "currency": "USD", "frequency": "monthly", "start_date": today},
        ),
    ):
        refused = await client.request(method, url, json=body, headers=inside(viewer))
        assert refused.status_code == 403, (method, url, refused.text)
    assert await env.count(Expense, Expense.space_id == space) == before
    assert env.data(await client.get(f"{EXPENSES}/{theirs['id']}", headers=inside(viewer)))["amount"] == "25.00"

    # A stranger with the header: the space and its objects do not exist for them.
    for url in (EXPENSES, f"{EXPENSES}/{shared['id']}", BUDGETS, f"{BUDGETS}/{budget['id']}", RECURRING):
        assert (await client.get(url, headers=inside(stranger))).status_code == 404, url
    assert (await client.get(f"{EXPENSES}/{shared['id']}", headers=stranger.headers)).status_code == 404

    # A shared schedule: its occurrences are the space's expenses.
    schedule = await client.post(
        RECURRING,
        json={"name": "Internet", "amount": "7.00", "currency": "USD", "frequency": "monthly", "start_date": today},
        headers=inside(member),
    )
    assert env.data(schedule)["space_id"] == str(space)

    async def booked() -> bool:
        return await env.count(Expense, Expense.space_id == space, Expense.recurring_expense_id.is_not(None)) == 1

    await env.until(booked)

    # Removed from the space: at once a 404 with the header, whatever they created there stays the space's.
    await env.publish(snapshot(space, owner.user_id, 3, {owner.user_id: "owner", viewer.user_id: "viewer"}))

    async def removed() -> bool:
        return (await client.get(EXPENSES, headers=inside(member))).status_code == 404

    await env.until(removed)
    assert len(env.data(await client.get(EXPENSES, headers=inside(owner)))) == 4

    # The owner's account deleted: their personal expense, membership and unused categories go; what they
    # made in the space is the household's and stays, still counted for the remaining member, and so do the
    # categories the space's rows and budget file under.
    await env.publish(UserDeleted(user_id=owner.user_id, deleted_at=datetime.now(UTC)), source="auth")

    async def owner_forgotten() -> bool:
        return await env.count(SpaceMembership, SpaceMembership.user_id == owner.user_id) == 0

    await env.until(owner_forgotten)
    assert await env.count(Expense, Expense.user_id == owner.user_id, Expense.space_id.is_(None)) == 0
    listed = env.data(await client.get(EXPENSES, headers=inside(viewer)))
    assert len(listed) == 4 and {shared["id"], theirs["id"]} <= {e["id"] for e in listed}
    kept = env.data(await client.get(f"{EXPENSES}/{shared['id']}", headers=inside(viewer)))
    assert (kept["amount"], kept["category_id"]) == ("80.00", food)
    status = env.data(await client.get(f"{BUDGETS}/{budget['id']}/status", headers=inside(viewer)))
    assert status["spent"] == "110.00", "the owner's budget and categories still count every member's spending"
    async with env.svc.db.sessions() as session:
        left = set(await session.scalars(select(Category.name).where(Category.user_id == owner.user_id)))
    assert left == {"Food & Dining", "Groceries"}, "only the categories the space files under stay"
    member_own = await env.expense(member)

    # The viewer's account deleted too: their membership is forgotten with the rest of their data.
    await env.publish(UserDeleted(user_id=viewer.user_id, deleted_at=datetime.now(UTC)), source="auth")

    async def forgotten() -> bool:
        return await env.count(SpaceMembership, SpaceMembership.user_id == viewer.user_id) == 0

    await env.until(forgotten)
    assert await env.count(SpaceMembership, SpaceMembership.space_id == space) == 0

    # The space deleted: its expenses, schedules and budgets go, with the deleted owner's categories they
    # used; personal ones stay.
    await env.publish(snapshot(space, owner.user_id, 4, {}, deleted=True))

    async def purged() -> bool:
        return await env.count(Expense, Expense.space_id == space) == 0

    await env.until(purged)
    assert await env.count(Budget, Budget.space_id == space) == 0
    assert await env.count(RecurringExpense, RecurringExpense.space_id == space) == 0
    assert await env.count(Category, Category.user_id == owner.user_id) == 0
    assert (await client.get(EXPENSES, headers=inside(member))).status_code == 404
    assert [e["id"] for e in env.data(await client.get(EXPENSES, headers=member.headers))] == [member_own["id"]]
