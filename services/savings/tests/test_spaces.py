"""Savings goals in a shared space: every member's contributions, rules of the space, roles, and the read model
of memberships kept from real `space.membership_changed` events; a deleted member's entries stay the space's."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from pfms_contracts.expense import ExpenseCreated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeReceived
from pfms_contracts.savings import SavingsContributionRequested
from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_savings.models import AutoSaveRule, Contribution, Goal, SpendingFact

from .conftest import Harness

pytestmark = pytest.mark.integration

GOALS, RULES = "/api/v1/savings/goals", "/api/v1/savings/rules"


def snapshot(env: Harness, space: uuid.UUID, version: int, members: dict[uuid.UUID, str], **extra: Any) -> Any:
    return SpaceMembershipChanged(
        user_id=env.alice,
        space_id=space,
        kind="household",
        name="Home",
        space_version=version,
        members=[SpaceMember(user_id=u, role=r) for u, r in members.items()],
        **extra,
    )


def income(user: uuid.UUID, net: str, space: uuid.UUID | None = None) -> IncomeReceived:
    return IncomeReceived(
        user_id=user,
        income_id=uuid.uuid4(),
        source_type="salary",
        amount=Decimal(net),
        net_amount=Decimal(net),
        currency="USD",
        received_date=date(2026, 3, 30),
        space_id=space,
    )


def spent(user: uuid.UUID, amount: str, space: uuid.UUID | None = None) -> ExpenseCreated:
    return ExpenseCreated(
        user_id=user,
        expense_id=uuid.uuid4(),
        amount=Decimal(amount),
        currency="USD",
        expense_date=date(2026, 3, 30),
        space_id=space,
    )


def asked(user: uuid.UUID, goal_id: str, space: uuid.UUID) -> SavingsContributionRequested:
    return SavingsContributionRequested(
        user_id=user,
        request_id=uuid.uuid4(),
        goal_id=uuid.UUID(goal_id),
        amount=Decimal("5"),
        currency="USD",
        requested_by="automation:rule:7",
        space_id=space,
    )


async def test_members_save_together_by_role_until_the_space_goes(env: Harness) -> None:
    alice, bob, carol, dave = env.alice, env.bob, uuid.uuid4(), uuid.uuid4()  # owner, member, viewer, outsider
    space = uuid.uuid4()
    await env.wait_handled(await env.publish(snapshot(env, space, 1, {alice: "owner", bob: "member", carol: "viewer"})))

    def within(user: uuid.UUID) -> dict[str, str]:
        return {**env.auth(user), "X-Space-ID": str(space)}

    client = env.client
    made = await client.post(
        GOALS, json={"name": "Holiday", "target_amount": "200.00", "currency": "USD"}, headers=within(alice)
    )
    assert made.status_code == 201, made.text
    trip = made.json()["data"]
    assert trip["space_id"] == str(space)
    own = await env.goal(alice, name="Mine")
    assert own["space_id"] is None

    # Two members contribute; every member sees both entries, the personal views show none of it.
    for user, amount in ((bob, "30"), (alice, "20")):
        moved = await client.post(f"{GOALS}/{trip['id']}/contribute", json={"amount": amount}, headers=within(user))
        assert moved.status_code == 201, moved.text
        assert moved.json()["data"]["contributed_by"] == str(user)
    for user in (alice, bob, carol):
        entries = (await client.get(f"{GOALS}/{trip['id']}/contributions", headers=within(user))).json()
        assert sorted(e["contributed_by"] for e in entries["data"]) == sorted([str(alice), str(bob)])
        progress = (await client.get(f"{GOALS}/{trip['id']}/progress", headers=within(user))).json()["data"]
        assert (progress["saved_amount"], progress["contributions"]) == ("50.00", 2)
    assert [g["id"] for g in (await env.get(GOALS, alice)).json()["data"]] == [own["id"]]
    assert (await env.get(GOALS, bob)).json()["data"] == []
    assert (await env.get(f"{GOALS}/{trip['id']}", alice)).status_code == 404, "not in the personal space"
    assert (await client.get(f"{GOALS}/{own['id']}", headers=within(alice))).status_code == 404
    (quarter,) = await env.outbox("goal.milestone_reached")
    assert (quarter["milestone_percent"], quarter["space_id"], quarter["user_id"]) == (25, str(space), str(alice))

    # Rules on the space's goal save from the space's money, whichever member's — never from personal money.
    rule = await client.post(
        RULES,
        json={"goal_id": trip["id"], "name": "Tenth", "kind": "income_percent", "percent": "10"},
        headers=within(bob),
    )
    assert rule.status_code == 201, rule.text
    rounding = {"goal_id": trip["id"], "name": "Change", "kind": "round_up", "round_up_unit": "1"}
    assert (await client.post(RULES, json=rounding, headers=within(alice))).status_code == 201
    await env.publish(income(alice, "100", space))
    await env.publish(income(bob, "1000"))
    await env.publish(spent(bob, "9.40", space))
    await env.publish(spent(alice, "3.50"))
    await env.publish(asked(bob, trip["id"], space))
    await env.publish(asked(carol, trip["id"], space))  # a viewer may not move money: dropped
    await env.publish(asked(dave, trip["id"], space))  # not a member: dropped
    await env.settle()
    rows = await env.count(Contribution, Contribution.goal_id == uuid.UUID(trip["id"]))
    assert rows == 5, "two by hand, 10 % of the space's income, the round-up of its expense, bob's request"
    assert await env.count(SpendingFact) == 1, "the space's expense is not bob's personal spending"
    assert (await client.get(f"{GOALS}/{trip['id']}", headers=within(carol))).json()["data"]["saved_amount"] == "65.60"
    assert (await client.get(RULES, headers=within(carol))).json()["pagination"]["total"] == 2
    assert (await env.get(RULES, bob)).json()["pagination"]["total"] == 0

    # A viewer reads but may not write: 403 and nothing changes.
    rule_id = rule.json()["data"]["id"]
    for method, url, body in (
        ("POST", GOALS, {"name": "No", "target_amount": "1", "currency": "USD"}),
        ("PATCH", f"{GOALS}/{trip['id']}", {"name": "Mine now"}),
        ("DELETE", f"{GOALS}/{trip['id']}", None),
        ("POST", f"{GOALS}/{trip['id']}/contribute", {"amount": "1"}),
        ("POST", f"{GOALS}/{trip['id']}/withdraw", {"amount": "1"}),
        ("POST", RULES, {"goal_id": trip["id"], "name": "No", "kind": "round_up", "round_up_unit": "1"}),
        ("PATCH", f"{RULES}/{rule_id}", {"active": False}),
        ("DELETE", f"{RULES}/{rule_id}", None),
    ):
        refused = await client.request(method, url, json=body, headers=within(carol))
        assert refused.status_code == 403 and "viewer" in refused.json()["error"]["message"], (method, url)
    shown = (await client.get(f"{GOALS}/{trip['id']}", headers=within(carol))).json()["data"]
    assert (shown["name"], shown["saved_amount"]) == ("Holiday", "65.60")
    assert await env.count(AutoSaveRule, AutoSaveRule.goal_id == uuid.UUID(trip["id"]), AutoSaveRule.active) == 2

    # An outsider: the space, its goals and rules do not exist for them.
    for url in (GOALS, f"{GOALS}/{trip['id']}", RULES, f"{RULES}/{rule_id}"):
        hidden = await client.get(url, headers=within(dave))
        assert hidden.status_code == 404 and hidden.json()["error"]["details"][0]["field"] == "X-Space-ID", url
    assert (await env.get(f"{GOALS}/{trip['id']}", dave)).status_code == 404
    assert (await env.get(f"{RULES}/{rule_id}", dave)).status_code == 404

    # Removed from the space: locked out as soon as the snapshot is applied.
    await env.wait_handled(await env.publish(snapshot(env, space, 2, {alice: "owner", carol: "viewer"})))
    assert (await client.get(f"{GOALS}/{trip['id']}", headers=within(bob))).status_code == 404
    moved = await client.post(f"{GOALS}/{trip['id']}/contribute", json={"amount": "1"}, headers=within(bob))
    assert moved.status_code == 404

    # Bob's account deleted: the rule he made on the space's goal goes with him (it would save in his name);
    # his entries stay the space's, and its progress is whole.
    await env.wait_handled(await env.publish(UserDeleted(user_id=bob, deleted_at=datetime.now(UTC))))
    assert await env.count(AutoSaveRule, AutoSaveRule.goal_id == uuid.UUID(trip["id"])) == 1
    assert await env.count(Contribution, Contribution.user_id == bob) == 3, "by hand, a round-up, a request"
    assert (await client.get(f"{GOALS}/{trip['id']}", headers=within(carol))).json()["data"]["saved_amount"] == "65.60"

    # The space is deleted: its goal goes with every member's entries and rules; the personal goal stays.
    await env.wait_handled(await env.publish(snapshot(env, space, 3, {}, deleted=True)))
    assert await env.count(Goal, Goal.space_id == space) == 0
    assert await env.count(Contribution, Contribution.goal_id == uuid.UUID(trip["id"])) == 0
    assert await env.count(AutoSaveRule, AutoSaveRule.goal_id == uuid.UUID(trip["id"])) == 0
    assert (await env.get(f"{GOALS}/{own['id']}", alice)).status_code == 200
    assert (await client.get(GOALS, headers=within(alice))).status_code == 404
