"""Issue 12 (spaces) through the gateway, the user service's part: Alice makes a household, invites Bob
and Carol by email, they accept, roles change (a viewer cannot manage), Alice hands the household to
Bob, Carol leaves, Bob deletes it; every change is one `space.membership_changed` on the bus carrying
the whole membership with a newer `space_version`, and a stranger never learns the space exists."""

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from journeys import BusTap, Person, profile_of, sign_up, verify_email
from test_expense_journeys import expense_ready

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

SPACES = "/api/v1/spaces"


def data(response: httpx.Response) -> Any:
    assert response.is_success, response.text
    return response.json()["data"]


async def join(
    gateway: httpx.AsyncClient, fleet: Fleet, inviter: Person, space_id: str, person: Person, role: str
) -> None:
    """Invited by address, the person proves that mailbox (only then may they answer) and accepts."""
    sent = await gateway.post(
        f"{SPACES}/{space_id}/invitations", json={"email": person.email, "role": role}, headers=inviter.headers
    )
    assert sent.status_code == 201, sent.text
    refused = await gateway.post(f"{SPACES}/invitations/{sent.json()['data']['id']}/accept", headers=person.headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "EMAIL_NOT_VERIFIED", refused.text
    await verify_email(gateway, fleet, person)
    mine = data(await gateway.get(f"{SPACES}/invitations", headers=person.headers))
    assert [i["id"] for i in mine] == [sent.json()["data"]["id"]]
    accepted = await gateway.post(f"{SPACES}/invitations/{mine[0]['id']}/accept", headers=person.headers)
    assert data(accepted)["status"] == "accepted"


async def test_a_household_is_shared_handed_on_and_deleted(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    alice, bob, carol, stranger = [await sign_up(gateway) for _ in range(4)]
    a, b, c = alice.user_id, bob.user_id, carol.user_id
    tap = await BusTap.open(fleet, "user.events", "space.membership_changed", "space.invitation_created")
    try:
        created = await gateway.post(SPACES, json={"kind": "household", "name": "Home"}, headers=alice.headers)
        assert created.status_code == 201, created.text
        sid = created.json()["data"]["id"]
        await tap.wait("space.membership_changed", space_id=sid, space_version=1)

        await join(gateway, fleet, alice, sid, bob, "member")
        await tap.wait("space.invitation_created", space_id=sid, invitee_email=bob.email)
        await join(gateway, fleet, alice, sid, carol, "viewer")
        joined = await tap.wait("space.membership_changed", space_id=sid, space_version=3)
        assert {m["user_id"]: m["role"] for m in joined["data"]["members"]} == {a: "owner", b: "member", c: "viewer"}

        listed = data(await gateway.get(SPACES, headers=carol.headers))
        assert [(s["id"], s["kind"], s["role"]) for s in listed] == [
            (c, "personal", "owner"),
            (sid, "household", "viewer"),
        ]
        refused = await gateway.patch(f"{SPACES}/{sid}", json={"name": "Mine"}, headers=carol.headers)
        assert refused.status_code == 403 and "viewer" in refused.json()["error"]["message"]
        for response in (
            await gateway.get(f"{SPACES}/{sid}", headers=stranger.headers),
            await gateway.post(f"{SPACES}/{sid}/leave", headers=stranger.headers),
            await gateway.delete(f"{SPACES}/{sid}", headers=stranger.headers),
        ):
            assert response.status_code == 404, response.text

        promoted = await gateway.patch(f"{SPACES}/{sid}/members/{b}", json={"role": "admin"}, headers=alice.headers)
        assert {m["user_id"]: m["role"] for m in data(promoted)["members"]}[b] == "admin"
        handed = data(await gateway.post(f"{SPACES}/{sid}/transfer", json={"user_id": b}, headers=alice.headers))
        assert (handed["owner_id"], handed["role"]) == (b, "admin")
        transferred = await tap.wait("space.membership_changed", space_id=sid, space_version=5)
        assert transferred["data"]["user_id"] == b
        assert (await gateway.post(f"{SPACES}/{sid}/leave", headers=carol.headers)).status_code == 204
        assert (await gateway.get(f"{SPACES}/{sid}", headers=carol.headers)).status_code == 404

        assert (await gateway.delete(f"{SPACES}/{sid}", headers=bob.headers)).status_code == 204
        gone = await tap.wait("space.membership_changed", space_id=sid, deleted=True)
        assert (gone["data"]["space_version"], gone["data"]["members"]) == (7, [])
        for person in (alice, bob):
            assert (await gateway.get(f"{SPACES}/{sid}", headers=person.headers)).status_code == 404
            assert [s["id"] for s in data(await gateway.get(SPACES, headers=person.headers))] == [person.user_id]
    finally:
        await tap.close()


async def test_a_household_budget_alerts_every_member_and_a_removed_one_is_shut_out(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    """The expense service's part: both members spend against one shared budget and the threshold alert
    reaches each of them, the viewer's write is refused, a removed member loses access within a second."""
    (owner, categories), (member, _) = await expense_ready(gateway), await expense_ready(gateway)
    viewer = await sign_up(gateway)
    await profile_of(gateway, owner)
    await profile_of(gateway, member)
    sid = data(await gateway.post(SPACES, json={"kind": "household", "name": "Home"}, headers=owner.headers))["id"]
    await join(gateway, fleet, owner, sid, member, "member")
    await join(gateway, fleet, owner, sid, viewer, "viewer")

    def inside(person: Person) -> dict[str, str]:
        return {**person.headers, "X-Space-ID": sid}

    async def let_in(person: Person) -> bool:
        return (await gateway.get("/api/v1/expenses", headers=inside(person))).status_code == 200

    for person in (member, viewer):  # the expense service's read model follows space.membership_changed
        await wait_for(lambda p=person: let_in(p), timeout=15, message="membership in the expense service")

    today = datetime.now(UTC).date()
    budget = await gateway.post(
        "/api/v1/budgets",
        json={
            "name": "Household food",
            "category_id": categories["Food & Dining"],
            "amount": "100.00",
            "currency": "USD",
            "period": "monthly",
            "start_date": today.replace(day=1).isoformat(),
            "alert_thresholds": [50],
        },
        headers=inside(owner),
    )
    budget_id = data(budget)["id"]

    async def spend(person: Person, amount: str, category: str) -> dict[str, Any]:
        body = {"amount": amount, "currency": "USD", "expense_date": today.isoformat(), "category_id": category}
        response = await gateway.post("/api/v1/expenses", json=body, headers=inside(person))
        assert response.status_code == 201, response.text
        return response.json()["data"]

    await spend(owner, "30.00", categories["Food & Dining"])
    theirs = await spend(member, "25.00", categories["Groceries"])  # the owner's sub-category: it counts

    async def alerted(person: Person) -> dict[str, Any] | None:
        found = [
            n
            for n in data(await gateway.get("/api/v1/notifications", headers=person.headers))
            if n["key"] == "budget.threshold_reached"
        ]
        return found[0] if found else None

    for person in (owner, member):
        note = await wait_for(lambda p=person: alerted(p), timeout=20, message="the budget alert of each member")
        assert note["reference_id"] == budget_id and note["title"] == "Household food: 50% of your budget used"
    status = data(await gateway.get(f"/api/v1/budgets/{budget_id}/status", headers=inside(member)))
    assert status["spent"] == "55.00", "the shared budget sums both members' expenses"
    assert data(await gateway.get("/api/v1/expenses", headers=member.headers)) == [], "nothing personal"

    refused = await gateway.post(
        "/api/v1/expenses",
        json={"amount": "1.00", "currency": "USD", "expense_date": today.isoformat()},
        headers=inside(viewer),
    )
    assert refused.status_code == 403, refused.text
    assert data(await gateway.get(f"/api/v1/expenses/{theirs['id']}", headers=inside(viewer)))["amount"] == "25.00"

    removed = await gateway.delete(f"{SPACES}/{sid}/members/{member.user_id}", headers=owner.headers)
    assert removed.status_code == 204, removed.text
    started = time.monotonic()

    async def shut_out() -> bool:
        return (await gateway.get("/api/v1/expenses", headers=inside(member))).status_code == 404

    await wait_for(shut_out, timeout=5, message="the removed member shut out of the space's expenses")
    assert time.monotonic() - started < 1.0, "a removed member loses access within a second"
    assert (await gateway.get(f"/api/v1/expenses/{theirs['id']}", headers=inside(member))).status_code == 404
    assert (await gateway.get(f"/api/v1/expenses/{theirs['id']}", headers=inside(owner))).status_code == 200

    # The removed member deletes their account: what they recorded in the space is the household's and
    # stays, still counted in the shared budget (their personal data goes, as everywhere).
    deleted = await gateway.request(
        "DELETE", "/api/v1/auth/account", json={"password": member.password}, headers=member.headers
    )
    assert deleted.status_code == 200, deleted.text

    async def heard() -> bool:
        return (await gateway.get("/api/v1/expenses", headers=member.headers)).status_code == 401

    await wait_for(heard, timeout=20, message="the expense service hears user.deleted")

    async def lost() -> bool:
        return (await gateway.get(f"/api/v1/expenses/{theirs['id']}", headers=inside(owner))).status_code != 200

    with pytest.raises(TimeoutError):
        await wait_for(lost, timeout=3, message="the deleted member's space expense stays the space's")
    status = data(await gateway.get(f"/api/v1/budgets/{budget_id}/status", headers=inside(owner)))
    assert status["spent"] == "55.00", "the shared budget still counts it"
