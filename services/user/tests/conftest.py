"""Fixtures for the user service: a running service and people who signed up through real events."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.identity import UserCreated
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, until
from pfms_user.models import UserProfile


@dataclass
class Person:
    user_id: uuid.UUID
    email: str
    headers: dict[str, str]


@dataclass
class Harness:
    """A running user service plus the moves tests make around it: publish, sign up, look inside."""

    svc: Running
    keys: Any

    async def publish(self, data: EventData, *, event: CloudEvent | None = None) -> CloudEvent:
        """Publish a CloudEvent the way auth's relay does."""
        return await publish_event(self.svc.settings.amqp_url, data, source="auth", event=event)

    until = staticmethod(until)

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def has_profile(self, user_id: uuid.UUID) -> bool:
        return await self.count(UserProfile, UserProfile.user_id == user_id) == 1

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """Payloads of the events the service wrote for `routing_key`, oldest first."""
        return await self.svc.outbox(routing_key)

    async def signup(self, email: str | None = None, *, verified: bool = True) -> Person:
        """Register someone with auth's `user.created` on the broker and wait until their profile exists
        (`verified`: the address came verified, as from an identity provider; invitees need that)."""
        user_id = uuid.uuid4()
        email = email or f"person-{user_id.hex[:8]}@example.com"
        created = UserCreated(user_id=user_id, email=email, email_verified=verified, created_at=datetime.now(UTC))
        await self.publish(created)
        await self.until(lambda: self.has_profile(user_id))
        return Person(user_id, email, self.keys.auth(user_id))


@pytest.fixture
async def env(make_service, jwt_keys) -> Harness:
    return Harness(await make_service("user"), jwt_keys)
