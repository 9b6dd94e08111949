"""user.created builds the profile and defaults exactly once; user.deleted leaves nothing behind."""

import uuid
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated, UserDeleted
from pfms_user.domain import Category, Channel
from pfms_user.models import (
    DeliveryPreferences,
    FamilyMember,
    FinancialPreferences,
    NotificationPreference,
    PrivacySettings,
    UserProfile,
)

pytestmark = pytest.mark.integration

PER_USER = (UserProfile, FinancialPreferences, PrivacySettings, DeliveryPreferences)
PAIRS = len(Channel) * len(Category)


def consumed(outcome: str) -> float:
    labels = {"service": "user", "type": "user.created", "outcome": outcome}
    return REGISTRY.get_sample_value("events_consumed_total", labels) or 0.0


async def test_user_created_on_the_broker_creates_profile_and_defaults(env) -> None:
    user_id = uuid.uuid4()
    await env.publish(UserCreated(user_id=user_id, email=" Ada.Lovelace@Example.COM ", created_at=datetime.now(UTC)))
    await env.until(lambda: env.has_profile(user_id))

    for model in PER_USER:
        assert await env.count(model, model.user_id == user_id) == 1
    assert await env.count(NotificationPreference, NotificationPreference.user_id == user_id) == PAIRS
    response = await env.svc.client.get("/api/v1/user/profile", headers=env.keys.auth(user_id))
    assert response.status_code == 200, response.text
    profile = response.json()["data"]
    assert profile["email"] == "ada.lovelace@example.com"
    assert (profile["currency"], profile["timezone"], profile["language"]) == ("USD", "UTC", "en")


async def test_the_same_event_delivered_twice_creates_one_profile(env) -> None:
    user_id = uuid.uuid4()
    created = UserCreated(user_id=user_id, email="twice@example.com", created_at=datetime.now(UTC))
    event = CloudEvent.wrap("auth", created)
    data = UserCreated.model_validate(event.data)
    duplicates = consumed("duplicate")
    await env.publish(data, event=event)
    await env.publish(data, event=event)

    async def second_delivery_seen() -> bool:
        return consumed("duplicate") > duplicates

    await env.until(second_delivery_seen)
    assert await env.svc.app.state.consumer.apply(event, data) is False, "the inbox dedupes by event id"
    assert await env.count(UserProfile, UserProfile.user_id == user_id) == 1
    assert await env.count(NotificationPreference, NotificationPreference.user_id == user_id) == PAIRS


async def test_handler_is_a_no_op_when_the_profile_already_exists(env) -> None:
    person = await env.signup()
    await env.svc.client.put("/api/v1/user/profile", json={"first_name": "Kept"}, headers=person.headers)
    again = CloudEvent.wrap(
        "auth", UserCreated(user_id=person.user_id, email="other@example.com", created_at=datetime.now(UTC))
    )
    # A new event id, so the inbox lets it through and the handler itself must hold.
    assert await env.svc.app.state.consumer.apply(again, UserCreated.model_validate(again.data)) is True

    assert await env.count(UserProfile, UserProfile.user_id == person.user_id) == 1
    assert await env.count(NotificationPreference, NotificationPreference.user_id == person.user_id) == PAIRS
    profile = (await env.svc.client.get("/api/v1/user/profile", headers=person.headers)).json()["data"]
    assert (profile["first_name"], profile["email"]) == ("Kept", person.email)


async def test_user_deleted_purges_every_row_of_the_user(env) -> None:
    client = env.svc.client
    alice, bob, carol = await env.signup(), await env.signup(), await env.signup()

    async def invite(who, email: str) -> str:
        response = await client.post(
            "/api/v1/user/family/invite", json={"email": email, "relationship": "other"}, headers=who.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    accepted = await invite(alice, bob.email)
    assert (await client.post(f"/api/v1/user/family/invitations/{accepted}/accept", headers=bob.headers)).is_success
    await invite(carol, alice.email)  # pending, to Alice's address
    await invite(alice, "outsider@example.com")
    await invite(carol, "kept@example.com")
    assert await env.count(FamilyMember) == 4

    await env.publish(UserDeleted(user_id=alice.user_id, deleted_at=datetime.now(UTC)))

    async def purged() -> bool:
        return not await env.has_profile(alice.user_id)

    await env.until(purged)
    for model in (*PER_USER, NotificationPreference):
        assert await env.count(model, model.user_id == alice.user_id) == 0
    assert await env.count(FamilyMember) == 1, "only Carol's invitation of someone else remains"
    assert await env.has_profile(bob.user_id)
    assert (await client.get("/api/v1/user/profile", headers=alice.headers)).status_code == 401  # deleted account
