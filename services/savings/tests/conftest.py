"""Fixtures for the savings service: a running service with its clock on TODAY, two people, and moves."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from pfms_contracts import CloudEvent, EventData
from pfms_platform.events.tables import InboxEvent
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, until
from pfms_savings.models import Contribution

TODAY = date(2026, 3, 31)


@dataclass
class Harness:
    """A savings service with the clock on `TODAY`, plus two users' headers."""

    svc: Running
    keys: Any
    alice: uuid.UUID = field(default_factory=uuid.uuid4)
    bob: uuid.UUID = field(default_factory=uuid.uuid4)
    published: list[str] = field(default_factory=list)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.svc.client

    def auth(self, user: uuid.UUID | None = None) -> dict[str, str]:
        return dict(self.keys.auth(user or self.alice))

    async def post(self, path: str, body: Any, user: uuid.UUID | None = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.auth(user))

    async def patch(self, path: str, body: Any, user: uuid.UUID | None = None) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self.auth(user))

    async def get(self, path: str, user: uuid.UUID | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.auth(user))

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """Data of the events the service wrote for `routing_key`, oldest first."""
        return [event["data"] for event in await self.svc.outbox(routing_key)]

    async def goal(self, user: uuid.UUID | None = None, **overrides: Any) -> dict[str, Any]:
        body = {"name": "Rainy day", "target_amount": "1000.00", "currency": "USD", **overrides}
        response = await self.post("/api/v1/savings/goals", body, user)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def contribute(self, goal_id: str, amount: str, **extra: Any) -> httpx.Response:
        return await self.post(f"/api/v1/savings/goals/{goal_id}/contribute", {"amount": amount, **extra})

    async def rule(self, user: uuid.UUID | None = None, **body: Any) -> dict[str, Any]:
        response = await self.post("/api/v1/savings/rules", body, user)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def publish(self, data: EventData, event: CloudEvent | None = None) -> CloudEvent:
        sent = await publish_event(self.svc.settings.amqp_url, data, source="test", event=event)
        self.published.append(sent.id)
        return sent

    async def settle(self) -> None:
        """Until every event published so far is in the inbox, then a moment for redelivered copies."""
        ids = set(self.published)

        async def handled() -> bool:
            return await self.count(InboxEvent, InboxEvent.event_id.in_(ids)) == len(ids)

        await until(handled)
        await asyncio.sleep(0.3)

    async def entries(self, goal_id: str) -> int:
        return await self.count(Contribution, Contribution.goal_id == uuid.UUID(goal_id))

    async def wait_entries(self, goal_id: str, n: int) -> None:
        async def reached() -> bool:
            return await self.entries(goal_id) >= n

        await until(reached)

    async def wait_handled(self, event: CloudEvent) -> None:
        """Until the consumer has applied the event (its id is in the inbox)."""

        async def seen() -> bool:
            return await self.count(InboxEvent, InboxEvent.event_id == event.id) == 1

        await until(seen)


@pytest.fixture
def make_env(make_service, jwt_keys) -> Callable[..., Awaitable[Harness]]:
    """`await make_env(**settings)`: a savings service with the clock on TODAY and the job loop off."""

    async def make(**overrides: Any) -> Harness:
        values = {"clock_date": TODAY, "jobs_enabled": False, "user_rate_limit_per_minute": 0, **overrides}
        return Harness(await make_service("savings", **values), jwt_keys)

    return make


@pytest.fixture
async def env(make_env) -> Harness:
    return await make_env()
