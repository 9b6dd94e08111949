"""Only a verified mailbox answers an invitation: someone who signed up with another person's address
(never verifying it) can neither see, accept nor decline what was sent to that address; auth's
`user.email_verified` for the profile's own address lifts that, an event about another one does not."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.identity import UserCreated
from pfms_contracts.verification import EmailVerified
from pfms_user.models import FamilyMember, NotificationPreference, UserProfile
from pfms_user.spaces.models import Invitation, Member

pytestmark = pytest.mark.integration

SPACES = "/api/v1/spaces"
FAMILY = "/api/v1/user/family"


def data(response: Any) -> Any:
    assert response.is_success, response.text
    return response.json()["data"]


def not_verified(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"


async def verified(env: Any, user_id: uuid.UUID) -> bool | None:
    async with env.svc.app.state.db.sessions() as session:
        flag: bool | None = await session.scalar(
            select(UserProfile.email_verified).where(UserProfile.user_id == user_id)
        )
        return flag


async def apply(env: Any, data: EventData) -> None:
    """One delivery straight through the consumer (inbox, handler, commit), a new event id each time."""
    assert await env.svc.app.state.consumer.apply(CloudEvent.wrap("auth", data), data) is True


async def test_an_unverified_address_answers_nothing_until_auth_says_it_is_verified(env) -> None:
    alice = await env.signup()
    squatter = await env.signup(email="Victim@Example.com", verified=False)
    client = env.svc.client
    space = data(await client.post(SPACES, json={"kind": "household", "name": "Home"}, headers=alice.headers))
    invited = data(
        await client.post(
            f"{SPACES}/{space['id']}/invitations",
            json={"email": "victim@example.com", "role": "admin"},
            headers=alice.headers,
        )
    )
    family = data(
        await client.post(
            f"{FAMILY}/invite", json={"email": "victim@example.com", "relationship": "spouse"}, headers=alice.headers
        )
    )
    [mail] = [e["data"] for e in await env.outbox("space.invitation_created")]
    snapshots = len(await env.outbox("space.membership_changed"))

    # Even holding the link's token, the squatter is refused every answer and sees nothing received.
    not_verified(await client.get(f"{SPACES}/invitations", headers=squatter.headers))
    assert data(await client.get(FAMILY, headers=squatter.headers))["invitations_received"] == []
    for verb in ("accept", "decline"):
        path = f"{SPACES}/invitations/{invited['id']}/{verb}"
        not_verified(await client.post(path, params={"token": mail["token"]}, headers=squatter.headers))
        not_verified(await client.post(f"{FAMILY}/invitations/{family['id']}/{verb}", headers=squatter.headers))
    # Another person's invitation (or none) stays a 404, verified or not: nothing learnt about it.
    not_found = await client.post(f"{SPACES}/invitations/{uuid.uuid4()}/accept", headers=squatter.headers)
    assert not_found.status_code == 404, not_found.text
    assert (await client.post(f"{FAMILY}/invitations/{family['id']}/accept", headers=alice.headers)).status_code == 404

    # Nothing changed: both invitations pending and unanswered, Alice alone in the space, no snapshot.
    async with env.svc.app.state.db.sessions() as session:
        row = await session.get(Invitation, uuid.UUID(invited["id"]))
        link = await session.get(FamilyMember, uuid.UUID(family["id"]))
        assert row is not None and link is not None
        assert (row.status, row.invitee_user_id, row.responded_at) == ("pending", None, None)
        assert (link.status, link.invitee_user_id, link.responded_at) == ("pending", None, None)
    assert await env.count(Member, Member.space_id == uuid.UUID(space["id"])) == 1
    assert len(await env.outbox("space.membership_changed")) == snapshots

    # An event about another address (an earlier one, say) vouches for nothing.
    now = datetime.now(UTC)
    await apply(env, EmailVerified(user_id=squatter.user_id, email="someone.else@example.com", verified_at=now))
    assert await verified(env, squatter.user_id) is False
    not_verified(await client.get(f"{SPACES}/invitations", headers=squatter.headers))

    # The real person proves the mailbox: auth's event on the broker (any case), then they may answer.
    await env.publish(EmailVerified(user_id=squatter.user_id, email=" VICTIM@example.com", verified_at=now))

    async def marked() -> bool:
        return bool(await verified(env, squatter.user_id))

    await env.until(marked)
    assert [i["id"] for i in data(await client.get(f"{SPACES}/invitations", headers=squatter.headers))] == [
        invited["id"]
    ]
    received = data(await client.get(FAMILY, headers=squatter.headers))["invitations_received"]
    assert [e["id"] for e in received] == [family["id"]]
    joined = data(await client.post(f"{SPACES}/invitations/{invited['id']}/accept", headers=squatter.headers))
    assert (joined["status"], joined["invitee_user_id"]) == ("accepted", str(squatter.user_id))
    assert (
        data(await client.post(f"{FAMILY}/invitations/{family['id']}/accept", headers=squatter.headers))["status"]
        == "accepted"
    )

    # A late, redelivered user.created (unverified) does not overturn the newer state.
    late = UserCreated(user_id=squatter.user_id, email="victim@example.com", created_at=now)
    await apply(env, late)
    assert await verified(env, squatter.user_id) is True


async def test_a_verification_that_overtakes_the_sign_up_is_kept(env) -> None:
    """The profile is made verified from the verification; `user.created` then finds it and changes nothing."""
    user_id, now = uuid.uuid4(), datetime.now(UTC)
    await apply(env, EmailVerified(user_id=user_id, email="Early@Example.com", verified_at=now))
    await apply(env, EmailVerified(user_id=user_id, email="early@example.com", verified_at=now))  # redelivered
    await apply(env, UserCreated(user_id=user_id, email="early@example.com", created_at=now))
    assert await verified(env, user_id) is True
    assert await env.count(UserProfile, UserProfile.user_id == user_id) == 1
    assert await env.count(NotificationPreference, NotificationPreference.user_id == user_id) > 0
    profile = data(await env.svc.client.get("/api/v1/user/profile", headers=env.keys.auth(user_id)))
    assert profile["email"] == "early@example.com"
