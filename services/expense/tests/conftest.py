"""Fixtures for the expense service: a running service, people signed up through real events, and
the moves tests make around it (publish on the bus, look into the outbox, wait for a condition)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.identity import UserCreated
from pfms_devservers import free_port
from pfms_expense.models import Category, UserSettings
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event
from pfms_platform.testing.helpers import until as wait_until


@dataclass
class Person:
    user_id: uuid.UUID
    headers: dict[str, str]


async def publish(svc: Running, data: EventData, *, source: str = "auth") -> CloudEvent:
    """Publish a CloudEvent as another service's relay does."""
    return await publish_event(svc.settings.amqp_url, data, source=source)


async def until(check: Callable[[], Awaitable[bool]], *, timeout: float = 15.0) -> None:
    """Poll `check` until it holds: events and jobs are asynchronous (jobs get a longer default)."""
    await wait_until(check, timeout=timeout)


@dataclass
class Harness:
    svc: Running
    keys: Any

    @property
    def client(self) -> Any:
        return self.svc.client

    @staticmethod
    def data(response: Any) -> Any:
        """The `data` of a success envelope (failing the test with the body otherwise)."""
        assert response.is_success, response.text
        return response.json()["data"]

    async def publish(self, data: EventData, *, source: str = "user") -> CloudEvent:
        return await publish(self.svc, data, source=source)

    until = staticmethod(until)

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """`data` of the events the service wrote for `routing_key`, oldest first."""
        return [event["data"] for event in await self.svc.outbox(routing_key)]

    async def signup(self) -> Person:
        """A person registered with auth: `user.created` on the bus, defaults created by the consumer."""
        user_id = uuid.uuid4()
        await publish(
            self.svc, UserCreated(user_id=user_id, email=f"{user_id.hex[:8]}@example.com", created_at=datetime.now(UTC))
        )

        async def ready() -> bool:
            return await self.count(UserSettings, UserSettings.user_id == user_id) == 1

        await until(ready)
        return Person(user_id, self.keys.auth(user_id))

    def stranger(self) -> Person:
        """Someone with a valid token the service has never heard of."""
        user_id = uuid.uuid4()
        return Person(user_id, self.keys.auth(user_id))

    async def category_id(self, person: Person, name: str) -> str:
        async with self.svc.db.sessions() as session:
            found = await session.scalar(
                select(Category.id).where(Category.user_id == person.user_id, Category.name == name)
            )
        assert found is not None, name
        return str(found)

    async def expense(self, person: Person, **fields: Any) -> dict[str, Any]:
        body = {"amount": "10.00", "currency": "USD", "expense_date": "2026-03-10", **fields}
        response = await self.client.post("/api/v1/expenses", json=body, headers=person.headers)
        assert response.status_code == 201, response.text
        return response.json()["data"]


NO_MARKET = {"market-data": "http://127.0.0.1:9"}
"""Where no market-data answers (connection refused): expenses in other currencies stay unconverted."""


@pytest.fixture
async def env(make_service, jwt_keys) -> Harness:
    return Harness(await make_service("expense", scheduler_interval_seconds=0.2, service_urls=NO_MARKET), jwt_keys)


@dataclass
class Market:
    """The real market-data service (offline ECB reference rates) served over HTTP on a loopback port,
    which a test can take down and bring back (an outage)."""

    svc: Running
    port: int
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(self.svc.app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        await wait_until(self._started, timeout=10)

    async def _started(self) -> bool:
        return self.server is not None and self.server.started

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
            self.server = self.task = None


@pytest.fixture
async def market(make_service) -> AsyncIterator[Market]:
    served = Market(await make_service("market-data"), free_port())
    await served.start()
    yield served
    await served.stop()


@pytest.fixture
async def fx_env(make_service, jwt_keys, market) -> Harness:
    """The expense service pointed at the running market-data."""
    svc = await make_service(
        "expense",
        scheduler_interval_seconds=0.2,
        service_urls={"market-data": market.url},
        fx_breaker_reset_seconds=0.5,
    )
    return Harness(svc, jwt_keys)
