"""`/api/v1/spaces` end to end on a real database and broker: the lifecycle, every refusal, and what a
deleted account leaves behind. Each change must publish the whole membership with a newer version."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update

from pfms_contracts.identity import UserDeleted
from pfms_platform.security import mint_service_token
from pfms_user.spaces.models import Invitation, Member, Space

pytestmark = pytest.mark.integration

SPACES = "/api/v1/spaces"


def data(response: Any) -> Any:
    assert response.is_success, response.text
    return response.json()["data"]


def refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    if field is not None:
        assert [d["field"] for d in error["details"]] == [field], error
    return error


class Spaces:
    """The moves the tests make on /api/v1/spaces as one person or another."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.client = env.svc.client

    async def snapshots(self, space_id: str) -> list[dict[str, Any]]:
        events = await self.env.outbox("space.membership_changed")
        return [e["data"] for e in events if e["data"]["space_id"] == space_id]

    async def latest(self, space_id: str) -> dict[str, Any]:
        return (await self.snapshots(space_id))[-1]

    async def invite(self, who: Any, space_id: str, email: str, role: str) -> Any:
        return await self.client.post(
            f"{SPACES}/{space_id}/invitations", json={"email": email, "role": role}, headers=who.headers
        )

    async def join(self, inviter: Any, space_id: str, person: Any, role: str) -> None:
        invitation = data(await self.invite(inviter, space_id, person.email, role))
        data(await self.client.post(f"{SPACES}/invitations/{invitation['id']}/accept", headers=person.headers))


def roles(snapshot: dict[str, Any]) -> dict[str, str]:
    return {m["user_id"]: m["role"] for m in snapshot["members"]}


async def test_a_household_from_creation_to_deletion(env) -> None:
    spaces = Spaces(env)
    alice, bob, carol = await env.signup(), await env.signup(email="Bob.Smith@Example.com"), await env.signup()
    a, b, c = str(alice.user_id), str(bob.user_id), str(carol.user_id)

    created = await spaces.client.post(SPACES, json={"kind": "household", "name": "  Home  "}, headers=alice.headers)
    assert created.status_code == 201, created.text
    home = created.json()["data"]
    assert (home["kind"], home["name"], home["role"], home["owner_id"], home["version"]) == (
        "household",
        "Home",
        "owner",
        a,
        1,
    )
    assert [(m["user_id"], m["role"]) for m in home["members"]] == [(a, "owner")]
    sid = home["id"]
    first = await spaces.latest(sid)
    assert first == {
        "user_id": a,
        "space_id": sid,
        "kind": "household",
        "name": "Home",
        "space_version": 1,
        "deleted": False,
        "members": [{"user_id": a, "role": "owner"}],
    }

    # Invite by email (any case), the invitee sees it and accepts with the token from the mail.
    invited = await spaces.invite(alice, sid, "BOB.smith@example.com", "member")
    assert invited.status_code == 201, invited.text
    invitation = invited.json()["data"]
    assert (invitation["status"], invitation["role"], invitation["invitee_email"]) == (
        "pending",
        "member",
        "bob.smith@example.com",
    )
    (mail,) = [e["data"] for e in await env.outbox("space.invitation_created")]
    assert (mail["user_id"], mail["space_id"], mail["space_name"], mail["invitation_id"]) == (
        a,
        sid,
        "Home",
        invitation["id"],
    )
    assert mail["invitee_email"] == "bob.smith@example.com" and len(mail["token"]) >= 40
    refused(await spaces.invite(alice, sid, bob.email, "viewer"), 409, "email")  # one open invitation per address
    listed = await spaces.client.get(f"{SPACES}/invitations", headers=bob.headers)
    assert [(i["id"], i["space_name"]) for i in data(listed)] == [(invitation["id"], "Home")]
    assert (
        data(await spaces.client.get(f"{SPACES}/{sid}/invitations", headers=alice.headers))[0]["id"] == invitation["id"]
    )
    accept = f"{SPACES}/invitations/{invitation['id']}/accept"
    refused(await spaces.client.post(accept, headers=carol.headers), 404)  # not addressed to Carol
    refused(await spaces.client.post(accept, params={"token": "forged"}, headers=bob.headers), 404)
    answered = data(await spaces.client.post(accept, params={"token": mail["token"]}, headers=bob.headers))
    assert (answered["status"], answered["invitee_user_id"]) == ("accepted", b)
    refused(await spaces.client.post(accept, headers=bob.headers), 409)
    assert data(await spaces.client.get(f"{SPACES}/invitations", headers=bob.headers)) == []
    assert roles(await spaces.latest(sid)) == {a: "owner", b: "member"}
    refused(await spaces.invite(alice, sid, bob.email, "viewer"), 409, "email")  # already in

    # Bob lists his spaces: personal first (its id is his own), then Home.
    page = (await spaces.client.get(SPACES, headers=bob.headers)).json()
    assert [(s["id"], s["kind"], s["role"]) for s in page["data"]] == [
        (b, "personal", "owner"),
        (sid, "household", "member"),
    ]
    assert page["pagination"]["total"] == 2
    second = (await spaces.client.get(SPACES, params={"page": 2, "limit": 1}, headers=bob.headers)).json()
    assert [s["id"] for s in second["data"]] == [sid] and second["pagination"]["pages"] == 2

    # Carol declines once, then joins as a viewer; roles change; the owner's only by transfer.
    declined = data(await spaces.invite(alice, sid, carol.email, "admin"))
    assert (
        data(await spaces.client.post(f"{SPACES}/invitations/{declined['id']}/decline", headers=carol.headers))[
            "status"
        ]
        == "declined"
    )
    stale = data(await spaces.invite(alice, sid, carol.email, "viewer"))
    async with env.svc.db.sessions() as session, session.begin():
        await session.execute(
            update(Invitation).where(Invitation.id == uuid.UUID(stale["id"])).values(expires_at=func.now())
        )
    assert data(await spaces.client.get(f"{SPACES}/invitations", headers=carol.headers)) == []
    expired = await spaces.client.post(f"{SPACES}/invitations/{stale['id']}/accept", headers=carol.headers)
    assert "expired" in refused(expired, 409)["message"]
    await spaces.join(alice, sid, carol, "viewer")  # a new invitation takes the expired one's place
    promoted = data(
        await spaces.client.patch(f"{SPACES}/{sid}/members/{b}", json={"role": "admin"}, headers=alice.headers)
    )
    assert {m["user_id"]: m["role"] for m in promoted["members"]} == {a: "owner", b: "admin", c: "viewer"}
    renamed = data(await spaces.client.patch(f"{SPACES}/{sid}", json={"name": "Our home"}, headers=bob.headers))
    assert renamed["name"] == "Our home" and renamed["role"] == "admin"
    refused(await spaces.client.patch(f"{SPACES}/{sid}/members/{a}", json={"role": "viewer"}, headers=bob.headers), 403)

    # Alice hands the space to Bob and stays as an admin; Carol leaves; Bob removes Alice.
    handed = data(await spaces.client.post(f"{SPACES}/{sid}/transfer", json={"user_id": b}, headers=alice.headers))
    assert (handed["owner_id"], handed["role"]) == (b, "admin")
    assert roles(await spaces.latest(sid)) == {a: "admin", b: "owner", c: "viewer"}
    assert (await spaces.client.post(f"{SPACES}/{sid}/leave", headers=carol.headers)).status_code == 204
    refused(await spaces.client.get(f"{SPACES}/{sid}", headers=carol.headers), 404)
    assert (await spaces.client.delete(f"{SPACES}/{sid}/members/{a}", headers=bob.headers)).status_code == 204
    assert roles(await spaces.latest(sid)) == {b: "owner"}

    # Bob deletes it: everyone loses it, the snapshot says deleted with no members.
    assert (await spaces.client.delete(f"{SPACES}/{sid}", headers=bob.headers)).status_code == 204
    refused(await spaces.client.get(f"{SPACES}/{sid}", headers=bob.headers), 404)
    history = await spaces.snapshots(sid)
    assert [s["space_version"] for s in history] == list(range(1, len(history) + 1)), "one newer version per change"
    assert len(history) == 9  # create, accept, accept, role, rename, transfer, leave, remove, delete
    assert history[-1]["deleted"] is True and history[-1]["members"] == [] and history[-1]["user_id"] == b
    assert [s["id"] for s in data(await spaces.client.get(SPACES, headers=bob.headers))] == [b]


async def test_refusals_change_nothing(env) -> None:
    spaces = Spaces(env)
    owner, viewer, stranger = await env.signup(), await env.signup(), await env.signup()
    sid = data(await spaces.client.post(SPACES, json={"kind": "business", "name": "Shop"}, headers=owner.headers))["id"]
    await spaces.join(owner, sid, viewer, "viewer")
    before = await spaces.snapshots(sid)
    post, patch, delete = spaces.client.post, spaces.client.patch, spaces.client.delete

    # Bad input names the field.
    refused(await post(SPACES, content=b"{nope", headers={**owner.headers, "content-type": "application/json"}), 400)
    refused(await post(SPACES, json={"kind": "personal", "name": "x"}, headers=owner.headers), 422, "kind")
    refused(await post(SPACES, json={"kind": "household", "name": "  "}, headers=owner.headers), 422, "name")
    refused(
        await post(SPACES, json={"kind": "household", "name": "x", "color": "red"}, headers=owner.headers), 422, "color"
    )
    refused(await spaces.invite(owner, sid, "not-an-email", "member"), 422, "email")
    refused(await spaces.invite(owner, sid, stranger.email, "owner"), 422, "role")
    refused(await spaces.invite(owner, sid, owner.email, "member"), 422, "email")
    refused(
        await patch(f"{SPACES}/{sid}/members/{viewer.user_id}", json={"role": "owner"}, headers=owner.headers),
        422,
        "role",
    )
    refused(await post(f"{SPACES}/{sid}/transfer", json={"user_id": "x"}, headers=owner.headers), 422, "user_id")
    refused(
        await post(f"{SPACES}/{sid}/transfer", json={"user_id": str(stranger.user_id)}, headers=owner.headers),
        404,
        "user_id",
    )
    refused(await spaces.client.get(f"{SPACES}/not-a-uuid", headers=owner.headers), 422, "space_id")

    # A viewer reads but cannot manage; the owner cannot leave.
    assert data(await spaces.client.get(f"{SPACES}/{sid}", headers=viewer.headers))["role"] == "viewer"
    error = refused(await patch(f"{SPACES}/{sid}", json={"name": "Mine"}, headers=viewer.headers), 403)
    assert error["code"] == "FORBIDDEN" and "viewer" in error["message"]
    refused(await spaces.invite(viewer, sid, stranger.email, "member"), 403)
    refused(await spaces.client.get(f"{SPACES}/{sid}/invitations", headers=viewer.headers), 403)
    refused(await delete(f"{SPACES}/{sid}/members/{owner.user_id}", headers=viewer.headers), 403)
    refused(await delete(f"{SPACES}/{sid}", headers=viewer.headers), 403)
    refused(await post(f"{SPACES}/{sid}/transfer", json={"user_id": str(viewer.user_id)}, headers=viewer.headers), 403)
    refused(await post(f"{SPACES}/{sid}/leave", headers=owner.headers), 409)
    refused(await delete(f"{SPACES}/{sid}/members/{owner.user_id}", headers=owner.headers), 409)

    # Someone outside gets 404 for everything, as for a space that does not exist.
    for response in (
        await spaces.client.get(f"{SPACES}/{sid}", headers=stranger.headers),
        await patch(f"{SPACES}/{sid}", json={"name": "x"}, headers=stranger.headers),
        await spaces.invite(stranger, sid, "someone@example.com", "member"),
        await post(f"{SPACES}/{sid}/leave", headers=stranger.headers),
        await delete(f"{SPACES}/{sid}", headers=stranger.headers),
        await spaces.client.get(f"{SPACES}/{uuid.uuid4()}", headers=owner.headers),
    ):
        refused(response, 404)

    # The personal space is shown but cannot be renamed, shared, left, transferred or deleted.
    me = str(owner.user_id)
    personal = data(await spaces.client.get(f"{SPACES}/{me}", headers=owner.headers))
    assert (personal["kind"], personal["role"], personal["members"][0]["user_id"]) == ("personal", "owner", me)
    refused(await patch(f"{SPACES}/{me}", json={"name": "x"}, headers=owner.headers), 409, "space_id")
    refused(await spaces.invite(owner, me, stranger.email, "member"), 409, "space_id")
    refused(await post(f"{SPACES}/{me}/leave", headers=owner.headers), 409, "space_id")
    refused(await delete(f"{SPACES}/{me}", headers=owner.headers), 409, "space_id")
    refused(await spaces.client.get(f"{SPACES}/{me}", headers=stranger.headers), 404)

    assert await spaces.snapshots(sid) == before, "no refused request published anything"
    assert await env.count(Invitation, Invitation.space_id == uuid.UUID(sid)) == 1


async def test_a_deleted_account_hands_its_spaces_on_and_the_export_lists_spaces(env) -> None:
    spaces = Spaces(env)
    owner, admin, member, viewer = [await env.signup() for _ in range(4)]
    create = {"kind": "household", "name": "Flat"}
    flat = data(await spaces.client.post(SPACES, json=create, headers=owner.headers))["id"]
    for person, role in ((member, "member"), (admin, "admin")):
        await spaces.join(owner, flat, person, role)
    solo = data(await spaces.client.post(SPACES, json={"kind": "business", "name": "Solo"}, headers=owner.headers))[
        "id"
    ]
    await spaces.join(owner, solo, viewer, "viewer")
    guest = data(await spaces.client.post(SPACES, json={"kind": "household", "name": "Theirs"}, headers=admin.headers))[
        "id"
    ]
    await spaces.join(admin, guest, owner, "member")
    await spaces.invite(owner, flat, "someone@example.com", "viewer")

    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    exported = data(
        await spaces.client.get(
            "/internal/v1/export", params={"user_id": str(owner.user_id)}, headers={"Authorization": f"Bearer {token}"}
        )
    )["tables"]
    assert {r["space_id"]: r["role"] for r in exported["space_memberships"]} == {
        flat: "owner",
        solo: "owner",
        guest: "member",
    }
    assert sorted(r["name"] for r in exported["spaces"]) == ["Flat", "Solo", "Theirs"]

    await env.publish(UserDeleted(user_id=owner.user_id, deleted_at=datetime.now(UTC)))

    async def gone() -> bool:
        return not await env.has_profile(owner.user_id)

    await env.until(gone)
    a, m, v = str(admin.user_id), str(member.user_id), str(viewer.user_id)
    assert roles(await spaces.latest(flat)) == {a: "owner", m: "member"}, "the admin inherits, not the earlier member"
    assert (await spaces.latest(flat))["user_id"] == a
    assert (await spaces.latest(solo))["deleted"] is True, "a viewer never inherits: the space goes"
    assert roles(await spaces.latest(guest)) == {a: "owner"}
    refused(await spaces.client.get(f"{SPACES}/{solo}", headers=viewer.headers), 404)
    assert data(await spaces.client.get(f"{SPACES}/{flat}", headers=admin.headers))["owner_id"] == a
    assert await env.count(Member, Member.user_id == owner.user_id) == 0
    assert await env.count(Invitation, Invitation.inviter_user_id == owner.user_id) == 0
    async with env.svc.db.sessions() as session:
        assert (await session.scalars(select(Space.id).where(Space.owner_id == owner.user_id))).all() == []
    assert v not in roles(await spaces.latest(flat))
