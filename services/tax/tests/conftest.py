"""Fixtures for the tax service: a running service, people with tokens, and real events on the bus."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from pfms_contracts import CloudEvent, EventData
from pfms_platform.events.tables import InboxEvent
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, served, until

NO_MARKET = {"market-data": "http://127.0.0.1:9", "report": "http://127.0.0.1:9"}
"""Where nothing answers (connection refused): a calculation needing a rate, or a report request, fails with 503."""


@dataclass
class Person:
    user_id: uuid.UUID
    headers: dict[str, str]


@dataclass
class Harness:
    """A running tax service plus the moves tests make around it: people, events, a look inside."""

    svc: Running
    keys: Any

    @property
    def client(self) -> Any:
        return self.svc.client

    def person(self) -> Person:
        user_id = uuid.uuid4()
        return Person(user_id, self.keys.auth(user_id))

    until = staticmethod(until)

    async def publish(self, data: EventData, *, source: str = "income") -> CloudEvent:
        return await publish_event(self.svc.settings.amqp_url, data, source=source)

    async def deliver(self, data: EventData, *, source: str = "income") -> CloudEvent:
        """Publish an event and wait until the service has applied it (its id is in the inbox)."""
        event = await self.publish(data, source=source)

        async def applied() -> bool:
            return await self.count(InboxEvent, InboxEvent.event_id == event.id) == 1

        await self.until(applied)
        return event

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        return await self.svc.outbox(routing_key)

    async def profile(self, person: Person, year: int, **body: Any) -> dict[str, Any]:
        values = {"country_code": "US", "filing_status": "single", **body}
        response = await self.client.put(f"/api/v1/tax/profiles/{year}", json=values, headers=person.headers)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    async def calculate(self, person: Person, year: int) -> dict[str, Any]:
        response = await self.client.get("/api/v1/tax/calculate", params={"year": year}, headers=person.headers)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])


@pytest.fixture
async def env(make_service, jwt_keys) -> Harness:
    return Harness(await make_service("tax", service_urls=NO_MARKET), jwt_keys)


@pytest.fixture
async def with_market(make_service, jwt_keys) -> AsyncIterator[Harness]:
    """The tax service with the real market-data (offline ECB reference rates) over loopback HTTP."""
    market = await make_service("market-data")
    async with served(market.app) as url:
        yield Harness(await make_service("tax", service_urls={"market-data": url}), jwt_keys)


def error_fields(response: Any) -> list[str]:
    return [d["field"] for d in response.json()["error"]["details"]]
