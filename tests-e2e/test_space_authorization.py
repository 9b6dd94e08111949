"""The BOLA/BFLA matrix for shared spaces (issue 12), through the gateway: one object of each space-aware
kind made in a household with `X-Space-ID`; a viewer reads every one but each write is a 403 that changes
nothing; a stranger with the header gets 404; once removed, the ex-member gets 404 on every one within a
second (each service's membership read model follows `space.membership_changed`)."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from journeys import Person, sign_up, verify_email

from pfms_local.fleet import Fleet

pytestmark = pytest.mark.e2e

DAY = (datetime.now(UTC).date() - timedelta(days=2)).isoformat()

OBJECTS: tuple[tuple[str, Any, str, Any], ...] = (
    (
        "/api/v1/expenses",
        {"amount": "12.00", "currency": "USD", "expense_date": DAY, "description": "Shared cafe"},
        "PATCH",
        {"description": "viewer was here"},
    ),
    (
        "/api/v1/budgets",
        {"name": "Household food", "amount": "300.00", "currency": "USD", "period": "monthly", "start_date": DAY},
        "PATCH",
        {"name": "viewer was here"},
    ),
    (
        "/api/v1/income/sources",
        {"name": "Household rent in", "type": "salary", "currency": "USD"},
        "PATCH",
        {"name": "viewer was here"},
    ),
    (
        "/api/v1/savings/goals",
        {"name": "Holiday", "target_amount": "1000.00", "currency": "USD"},
        "PATCH",
        {"name": "viewer was here"},
    ),
    (
        "/api/v1/automation/rules",
        {
            "name": "Tag shared",
            "trigger": {"event": "expense.created"},
            "conditions": {"all": [{"field": "description", "op": "contains", "value": "SHARED"}]},
            "actions": [{"type": "add_tags", "tags": ["shared"]}],
        },
        "PUT",
        {"name": "viewer was here"},
    ),
    (
        "/api/v1/accounts",
        {"name": "Household wallet", "type": "wallet", "currency": "USD", "opening_balance": "50"},
        "PATCH",
        {"name": "viewer was here"},
    ),
)
"""Collection path, a create body, and the method and body of a write on one object."""


def _in(space: str, who: Person) -> dict[str, str]:
    return {**who.headers, "X-Space-ID": space}


async def _join(gateway: httpx.AsyncClient, fleet: Fleet, owner: Person, space: str, who: Person, role: str) -> None:
    await verify_email(gateway, fleet, who)  # only a verified address answers an invitation
    sent = await gateway.post(
        f"/api/v1/spaces/{space}/invitations", json={"email": who.email, "role": role}, headers=owner.headers
    )
    assert sent.status_code == 201, sent.text
    accepted = await gateway.post(f"/api/v1/spaces/invitations/{sent.json()['data']['id']}/accept", headers=who.headers)
    assert accepted.status_code == 200, accepted.text


async def _until_all(check: Any, timeout: float = 10.0) -> float:
    """Seconds until `check()` is true (polled); fails after `timeout`."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_space_viewer_reads_but_cannot_write_and_an_ex_member_loses_access_everywhere(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    owner, viewer, member, stranger = await asyncio.gather(*(sign_up(gateway) for _ in range(4)))
    made = await gateway.post(
        "/api/v1/spaces", json={"kind": "household", "name": "Matrix home"}, headers=owner.headers
    )
    assert made.status_code == 201, made.text
    space = made.json()["data"]["id"]
    await _join(gateway, fleet, owner, space, viewer, "viewer")
    await _join(gateway, fleet, owner, space, member, "member")

    items: list[str] = []
    for path, body, _, _ in OBJECTS:
        created = await gateway.post(path, json=body, headers=_in(space, owner))
        assert created.status_code == 201, f"{path}: {created.text}"
        items.append(f"{path}/{created.json()['data']['id']}")

    async def every_read(who: Person) -> list[int]:
        answers = await asyncio.gather(*(gateway.get(item, headers=_in(space, who)) for item in items))
        return [a.status_code for a in answers]

    # Each service learns the memberships from the bus: wait until all of them know the viewer.
    await _until_all(lambda: _all(every_read(viewer), 200))
    before = [(await gateway.get(item, headers=_in(space, owner))).json()["data"] for item in items]

    writes = [
        gateway.request(method, item, json=body, headers=_in(space, viewer))
        for item, (_, _, method, body) in zip(items, OBJECTS, strict=True)
    ]
    creates = [gateway.post(path, json=body, headers=_in(space, viewer)) for path, body, _, _ in OBJECTS]
    deletes = [gateway.delete(item, headers=_in(space, viewer)) for item in items]
    refused = await asyncio.gather(*writes, *creates, *deletes)
    wrong = [f"{r.request.method} {r.request.url.path}: {r.status_code}" for r in refused if r.status_code != 403]
    assert not wrong, "a viewer's writes must answer 403:\n" + "\n".join(wrong)
    assert all(r.json()["error"]["code"] == "FORBIDDEN" for r in refused)
    after = [(await gateway.get(item, headers=_in(space, owner))).json()["data"] for item in items]
    assert after == before, "a viewer's refused writes changed something"
    for path, _, _, _ in OBJECTS:  # nothing was created either
        listed = await gateway.get(path, headers=_in(space, owner))
        assert listed.json()["pagination"]["total"] == 1, f"{path}: {listed.text}"

    strangers = await every_read(stranger)
    assert strangers == [404] * len(items), strangers
    personal = await asyncio.gather(*(gateway.get(item, headers=member.headers) for item in items))
    assert [p.status_code for p in personal] == [404] * len(items), "a space's object is not in anyone's personal space"

    assert (await gateway.get(items[0], headers=_in(space, member))).status_code == 200
    removed = await gateway.delete(f"/api/v1/spaces/{space}/members/{member.user_id}", headers=owner.headers)
    assert removed.status_code == 204, removed.text
    took = await _until_all(lambda: _all(every_read(member), 404))
    assert took < 1.0, f"an ex-member kept access for {took:.2f} s"


async def _all(answers: Any, status: int) -> bool:
    return all(code == status for code in await answers)
