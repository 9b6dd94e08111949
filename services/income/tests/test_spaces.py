"""Income in a shared space: members by role, read models kept from real `space.membership_changed` events."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from pfms_contracts.expense import ExpenseCreated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_income.models import ExpenseFact, IncomeSource, IncomeTransaction, SpaceMembership

from .conftest import Harness, Person, error_fields

pytestmark = pytest.mark.integration

SOURCES, TRANSACTIONS = "/api/v1/income/sources", "/api/v1/income/transactions"
TODAY = datetime.now(UTC).date().isoformat()
SALARY = {"name": "Shop takings", "type": "business", "amount": "900", "currency": "EUR", "frequency": "monthly"}


def snapshot(space: uuid.UUID, owner: Person, version: int, members: list[tuple[Person, str]], **extra: Any) -> Any:
    return SpaceMembershipChanged(
        user_id=owner.user_id,
        space_id=space,
        kind="household",
        name="Home",
        space_version=version,
        members=[SpaceMember(user_id=p.user_id, role=r) for p, r in members],
        **extra,
    )


async def test_members_share_income_by_role_and_lose_it_with_the_space(env: Harness) -> None:
    owner, member, viewer, stranger = env.person(), env.person(), env.person(), env.person()
    space = uuid.uuid4()
    roles = [(owner, "owner"), (member, "member"), (viewer, "viewer")]
    await env.deliver(snapshot(space, owner, 1, roles), source="user")

    def within(person: Person) -> dict[str, str]:
        return {**person.headers, "X-Space-ID": str(space)}

    client = env.client
    made = await client.post(SOURCES, json={**SALARY, "start_date": TODAY}, headers=within(owner))
    assert made.status_code == 201, made.text
    shop = made.json()["data"]
    assert shop["space_id"] == str(space)
    mine = await client.post(SOURCES, json={**SALARY, "name": "Mine", "start_date": TODAY}, headers=owner.headers)
    mine_id = mine.json()["data"]["id"]
    assert mine.json()["data"]["space_id"] is None

    # A member records income against the space's source; the event names the space.
    paid = await client.post(
        TRANSACTIONS, json={"source_id": shop["id"], "amount": "900", "date": TODAY}, headers=within(member)
    )
    assert paid.status_code == 201, paid.text
    income = paid.json()["data"]
    assert (income["space_id"], income["currency"], income["type"]) == (str(space), "EUR", "business")
    (event,) = await env.outbox("income.received")
    assert event["data"]["space_id"] == str(space) and event["data"]["user_id"] == str(member.user_id)
    crossed = await client.post(
        TRANSACTIONS, json={"source_id": mine_id, "amount": "5", "date": TODAY}, headers=within(member)
    )
    assert crossed.status_code == 404 and error_fields(crossed) == ["source_id"], "a personal source is not the space's"
    await client.post(TRANSACTIONS, json={"amount": "100", "currency": "EUR", "date": TODAY}, headers=within(owner))

    # Every member sees every member's rows in the space; nobody's personal view shows them.
    for person, _ in roles:
        listed = (await client.get(TRANSACTIONS, headers=within(person))).json()
        assert listed["pagination"]["total"] == 2
        assert (await client.get(f"{SOURCES}/{shop['id']}", headers=within(person))).status_code == 200
        assert (await client.get(TRANSACTIONS, headers=person.headers)).json()["pagination"]["total"] == 0
    summary = (await client.get(f"{TRANSACTIONS}/summary", headers=within(viewer))).json()["data"]
    assert [(t["currency"], t["count"], t["net_amount"]) for t in summary["totals"]] == [("EUR", 2, "1000.00")]
    owner_sources = (await client.get(SOURCES, headers=owner.headers)).json()["data"]
    assert [s["id"] for s in owner_sources] == [mine_id]
    assert (await client.get(f"{SOURCES}/{shop['id']}", headers=owner.headers)).status_code == 404
    assert (await client.get(f"{SOURCES}/{mine_id}", headers=within(owner))).status_code == 404

    # A viewer reads but may not write: 403, nothing changed.
    for method, url, body in (
        ("POST", TRANSACTIONS, {"amount": "1", "currency": "EUR", "date": TODAY}),
        ("PATCH", f"{TRANSACTIONS}/{income['id']}", {"amount": "1"}),
        ("DELETE", f"{TRANSACTIONS}/{income['id']}", None),
        ("POST", SOURCES, {**SALARY, "start_date": TODAY}),
        ("PATCH", f"{SOURCES}/{shop['id']}", {"name": "Mine now"}),
        ("DELETE", f"{SOURCES}/{shop['id']}", None),
    ):
        refused = await client.request(method, url, json=body, headers=within(viewer))
        assert refused.status_code == 403 and "viewer" in refused.json()["error"]["message"], (method, url)
    assert (await client.get(f"{TRANSACTIONS}/{income['id']}", headers=within(viewer))).json()["data"] == income
    assert await env.count(IncomeTransaction, IncomeTransaction.space_id == space) == 2
    # A member writes: the other member's income is theirs to correct, and updated/deleted carry the space too.
    fixed = await client.patch(f"{TRANSACTIONS}/{income['id']}", json={"amount": "950"}, headers=within(owner))
    assert fixed.status_code == 200 and fixed.json()["data"]["net_amount"] == "950.00"
    (updated,) = await env.outbox("income.updated")
    assert updated["data"]["space_id"] == str(space)

    # The space's spending is not the member's: their personal projection leaves it out.
    household = ExpenseCreated(
        user_id=member.user_id,
        expense_id=uuid.uuid4(),
        amount=Decimal("80"),
        currency="EUR",
        expense_date=datetime.now(UTC).date(),
        space_id=space,
    )
    await env.deliver(household)
    assert await env.count(ExpenseFact, ExpenseFact.expense_id == household.expense_id) == 0

    # Someone outside the space: the space and its objects do not exist for them.
    for url in (TRANSACTIONS, f"{TRANSACTIONS}/{income['id']}", f"{SOURCES}/{shop['id']}"):
        hidden = await client.get(url, headers=within(stranger))
        assert hidden.status_code == 404 and error_fields(hidden) == ["X-Space-ID"]
    assert (await client.get(f"{TRANSACTIONS}/{income['id']}", headers=stranger.headers)).status_code == 404

    # Removed from the space: no access from the moment the snapshot is applied; a deleted user is forgotten.
    await env.deliver(snapshot(space, owner, 2, [(owner, "owner"), (viewer, "viewer")]), source="user")
    assert (await client.get(TRANSACTIONS, headers=within(member))).status_code == 404
    await env.deliver(UserDeleted(user_id=viewer.user_id, deleted_at=datetime.now(UTC)), source="auth")
    assert await env.count(SpaceMembership, SpaceMembership.user_id == viewer.user_id) == 0
    assert (await client.get(TRANSACTIONS, headers=within(owner))).json()["pagination"]["total"] == 2
    # The member's account deleted: the income they recorded in the space is the household's and stays.
    await env.deliver(UserDeleted(user_id=member.user_id, deleted_at=datetime.now(UTC)), source="auth")
    kept = await client.get(f"{TRANSACTIONS}/{income['id']}", headers=within(owner))
    assert (kept.status_code, kept.json()["data"]["amount"]) == (200, "950.00")
    assert (await client.get(TRANSACTIONS, headers=within(owner))).json()["pagination"]["total"] == 2

    # The space is deleted: its income goes, whoever recorded it; personal income stays.
    deleted = await client.delete(f"{TRANSACTIONS}/{income['id']}", headers=within(owner))
    assert deleted.status_code == 200
    (gone,) = await env.outbox("income.deleted")
    assert gone["data"]["space_id"] == str(space)
    await env.deliver(snapshot(space, owner, 3, [], deleted=True), source="user")
    assert await env.count(IncomeTransaction, IncomeTransaction.space_id == space) == 0
    assert await env.count(IncomeSource, IncomeSource.space_id == space) == 0
    assert await env.count(IncomeSource, IncomeSource.id == uuid.UUID(mine_id)) == 1
    assert (await client.get(SOURCES, headers=within(owner))).status_code == 404
