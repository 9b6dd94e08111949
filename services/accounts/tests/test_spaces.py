"""Shared spaces: a household's accounts, by role, from real `space.membership_changed` snapshots on the
bus — listed, moved between and summed in the space only; expenses booked only on an account of their own
scope; a deleted member's accounts stay with the space; a removed member loses access at once; a deleted
space's books go."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from pfms_accounts.models import Account, JournalEntry
from pfms_contracts import EventData
from pfms_contracts.expense import ExpenseCreated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_platform.spaces import SpaceMembership
from pfms_platform.testing.helpers import publish_event, until

from .conftest import Harness

pytestmark = pytest.mark.integration

ACCOUNTS = "/api/v1/accounts"


def snapshot(space: uuid.UUID, owner: uuid.UUID, version: int, members: dict[uuid.UUID, str]) -> SpaceMembershipChanged:
    return SpaceMembershipChanged(
        user_id=owner,
        space_id=space,
        kind="household",
        name="Home",
        space_version=version,
        deleted=not members,
        members=[SpaceMember(user_id=u, role=r) for u, r in members.items()],
    )


async def test_a_household_shares_accounts_by_role(env: Harness) -> None:
    alice, bob = env.alice, env.bob  # owner, member
    carol, dave = uuid.uuid4(), uuid.uuid4()  # viewer, stranger
    space = uuid.uuid4()
    client, url = env.client, env.svc.settings.amqp_url

    async def publish(data: EventData, source: str = "user") -> None:
        await publish_event(url, data, source=source)

    async def count(model: Any, *where: Any) -> int:
        async with env.svc.db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    async def members(n: int) -> None:
        async def check() -> bool:
            return await count(SpaceMembership, SpaceMembership.space_id == space) == n

        await until(check)

    def inside(user: uuid.UUID, key: str | None = None) -> dict[str, str]:
        return {**env.auth(user, key), "X-Space-ID": str(space)}

    def ids(response: Any) -> set[str]:
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()["data"]}

    await publish(snapshot(space, alice, 1, {alice: "owner", bob: "member", carol: "viewer"}))
    await members(3)

    personal = await env.account(opening_balance="100")
    made = await client.post(
        ACCOUNTS,
        json={"name": "Joint", "type": "checking", "currency": "USD", "opening_balance": "50"},
        headers=inside(alice),
    )
    assert made.status_code == 201, made.text
    joint = made.json()["data"]
    assert joint["space_id"] == str(space)
    savings = (
        await client.post(ACCOUNTS, json={"name": "Pot", "type": "savings", "currency": "USD"}, headers=inside(bob))
    ).json()["data"]
    opened = [e for e in await env.outbox("account.opened") if e["account_id"] == joint["id"]]
    assert opened[0]["space_id"] == str(space) and opened[0]["user_id"] == str(alice)

    # Members and the viewer see the space's accounts with the header; the personal views do not.
    for user in (alice, bob, carol):
        assert ids(await client.get(ACCOUNTS, headers=inside(user))) == {joint["id"], savings["id"]}
    assert ids(await client.get(ACCOUNTS, headers=env.auth(alice))) == {personal["id"]}
    assert ids(await client.get(ACCOUNTS, headers=env.auth(bob))) == set()
    assert (await client.get(f"{ACCOUNTS}/{joint['id']}", headers=env.auth(alice))).status_code == 404

    # A member moves the space's money on the space's books; a personal account is not in the space.
    body = {"from_account_id": joint["id"], "to_account_id": savings["id"], "amount": "20"}
    moved = await client.post(f"{ACCOUNTS}/transfers", json=body, headers=inside(bob, "t-1"))
    assert moved.status_code == 201, moved.text
    sent = await env.outbox("account.transfer_completed")
    assert sent[-1]["space_id"] == str(space) and sent[-1]["user_id"] == str(bob)
    mixed = {**body, "from_account_id": personal["id"]}
    assert (await client.post(f"{ACCOUNTS}/transfers", json=mixed, headers=inside(alice))).status_code == 404
    assert (await client.post(f"{ACCOUNTS}/transfers", json=mixed, headers=env.auth(alice))).status_code == 404
    adjusted = await client.post(
        f"{ACCOUNTS}/{savings['id']}/reconciliation", json={"balance": "25"}, headers=inside(bob)
    )
    assert adjusted.status_code == 201, adjusted.text
    assert (await env.outbox("account.balance_adjusted"))[-1]["space_id"] == str(space)

    # The viewer reads (postings, net worth) but changes nothing: 403, and the balances stay.
    postings = await client.get(f"{ACCOUNTS}/{joint['id']}/postings", headers=inside(carol))
    assert [p["amount"] for p in postings.json()["data"]] == ["-20.00", "50.00"]
    worth = (await client.get(f"{ACCOUNTS}/net-worth", headers=inside(carol))).json()["data"]
    assert Decimal(worth["net_worth"]) == Decimal(55) and Decimal(worth["history"][-1]["net_worth"]) == Decimal(55)
    mine = (await client.get(f"{ACCOUNTS}/net-worth", headers=env.auth(alice))).json()["data"]
    assert Decimal(mine["net_worth"]) == Decimal(100)
    refused = [
        await client.post(f"{ACCOUNTS}/transfers", json=body, headers=inside(carol)),
        await client.patch(f"{ACCOUNTS}/{joint['id']}", json={"name": "Mine"}, headers=inside(carol)),
        await client.delete(f"{ACCOUNTS}/{savings['id']}", headers=inside(carol)),
        await client.post(ACCOUNTS, json={"name": "X", "type": "cash", "currency": "USD"}, headers=inside(carol)),
        await client.post(f"{ACCOUNTS}/{joint['id']}/reconciliation", json={"balance": "0"}, headers=inside(carol)),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    shown = (await client.get(f"{ACCOUNTS}/{joint['id']}", headers=inside(carol))).json()["data"]
    assert (shown["name"], shown["balance"]) == ("Joint", "30.00")
    assert ids(await client.get(ACCOUNTS, headers=inside(carol))) == {joint["id"], savings["id"]}

    # A stranger with the header: the space and its accounts are 404.
    assert (await client.get(ACCOUNTS, headers=inside(dave))).status_code == 404
    assert (await client.get(f"{ACCOUNTS}/{joint['id']}", headers=inside(dave))).status_code == 404
    assert (await client.get(f"{ACCOUNTS}/{joint['id']}", headers=env.auth(dave))).status_code == 404

    # An expense is booked on an account of its own scope only: the space's on the space's account.
    day = date(2026, 11, 20)
    facts: dict[str, Any] = {"user_id": bob, "currency": "USD", "expense_date": day, "amount": Decimal(10)}
    joint_id, personal_id = uuid.UUID(joint["id"]), uuid.UUID(personal["id"])
    await publish(ExpenseCreated(**facts, expense_id=uuid.uuid4(), account_id=personal_id, space_id=space), "expense")
    await publish(
        ExpenseCreated(**{**facts, "user_id": alice}, expense_id=uuid.uuid4(), account_id=joint_id), "expense"
    )
    await publish(ExpenseCreated(**facts, expense_id=uuid.uuid4(), account_id=joint_id, space_id=space), "expense")

    async def booked() -> bool:
        data = (await client.get(f"{ACCOUNTS}/{joint['id']}", headers=inside(alice))).json()["data"]
        return bool(data["balance"] == "20.00")

    await until(booked)
    assert await env.balance(personal["id"]) == Decimal(100)
    postings = await client.get(f"{ACCOUNTS}/{joint['id']}/postings", headers=inside(alice))
    assert postings.json()["pagination"]["total"] == 3
    assert await env.ledger_sums() == {"USD": Decimal(0)}

    # A deleted member's space account stays with the space; a removed viewer loses access at once.
    await publish(UserDeleted(user_id=bob, deleted_at=datetime.now(UTC)))
    await members(2)
    assert ids(await client.get(ACCOUNTS, headers=inside(alice))) == {joint["id"], savings["id"]}
    await publish(snapshot(space, alice, 2, {alice: "owner"}))
    await members(1)
    assert (await client.get(f"{ACCOUNTS}/{joint['id']}", headers=inside(carol))).status_code == 404

    # The space is deleted: its accounts and books go; the owner's personal account stays.
    await publish(snapshot(space, alice, 3, {}))

    async def purged() -> bool:
        return await count(Account, Account.space_id == space) == 0

    await until(purged)
    assert await count(JournalEntry, JournalEntry.user_id == space) == 0
    assert await count(Account, Account.user_id == space) == 0
    assert await env.balance(personal["id"]) == Decimal(100)
    assert await env.ledger_sums() == {"USD": Decimal(0)}
