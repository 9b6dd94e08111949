"""Fixtures for the income service: a running service, people with tokens, and real events on the bus."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from pfms_contracts import CloudEvent, EventData
from pfms_platform.events.tables import InboxEvent
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, until


@dataclass
class Person:
    user_id: uuid.UUID
    headers: dict[str, str]


@dataclass
class Harness:
    """A running income service plus the moves tests make around it: people, events, a look inside."""

    svc: Running
    keys: Any

    @property
    def client(self) -> Any:
        return self.svc.client

    def person(self) -> Person:
        user_id = uuid.uuid4()
        return Person(user_id, self.keys.auth(user_id))

    async def publish(self, data: EventData, *, source: str = "expense", event: CloudEvent | None = None) -> CloudEvent:
        """Publish a CloudEvent the way a producer's relay does."""
        return await publish_event(self.svc.settings.amqp_url, data, source=source, event=event)

    until = staticmethod(until)

    async def deliver(self, data: EventData, *, source: str = "expense") -> CloudEvent:
        """Publish an event and wait until the service has applied it (its id is in the inbox)."""
        event = await self.publish(data, source=source)

        async def applied() -> bool:
            return await self.count(InboxEvent, InboxEvent.event_id == event.id) == 1

        await self.until(applied)
        return event

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """CloudEvents the service wrote for `routing_key`, oldest first."""
        return await self.svc.outbox(routing_key)

    async def projection(self, person: Person, **params: Any) -> dict[str, Any]:
        response = await self.client.get("/api/v1/income/cashflow/projection", params=params, headers=person.headers)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])


@pytest.fixture
async def env(make_service, jwt_keys) -> Harness:
    # The latest projection is stored at once, so a test can read it right after the answer.
    return Harness(await make_service("income", projection_store_delay_seconds=0), jwt_keys)


def error_fields(response: Any) -> list[str]:
    return [d["field"] for d in response.json()["error"]["details"]]
