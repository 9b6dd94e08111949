"""The bus's metrics, scraped from /metrics of a running service on real PostgreSQL and RabbitMQ: each
counter moves with the action it counts, and the lag and dead-letter gauges are measured at scrape time."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated
from pfms_devservers import Stack
from pfms_platform.app import create_app
from pfms_platform.db import Base
from pfms_platform.events.bus import DELIVERY_LIMIT
from pfms_platform.events.outbox import emit
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.keys import TestKeys

pytestmark = pytest.mark.integration

FAILING = uuid.UUID(int=31)


async def handle(session: AsyncSession, data: UserCreated) -> None:
    if data.user_id == FAILING:
        raise RuntimeError("this handler always fails for user 31")


@pytest.fixture
async def service(stack: Stack, jwt_keys: TestKeys) -> AsyncIterator[FastAPI]:
    """A service of its own name (the counters are process-wide), database and vhost, consuming user.created."""
    name = f"metrics_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__, InboxEvent.__table__])
    await engine.dispose()
    stack.rabbitmq.add_vhost(name)
    settings = ServiceSettings(
        service_name=name,
        environment="test",
        database_url=url,
        amqp_url=stack.rabbitmq.url(name),
        redis_url=stack.redis.url(0),
        jwks_url=jwt_keys.url,
    )
    app = create_app(settings, title=name, handlers={"user.created": handle})
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):  # a busy machine starts slowly
        await asyncio.wait_for(app.state.consumer.ready.wait(), 60)
        yield app
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


async def scrape(app: FastAPI) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """This service's samples from /metrics: (name, labels without `service`) → value."""
    service = app.state.settings.service_name
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        text = (await client.get("/metrics")).text
    return {
        (s.name, frozenset((k, v) for k, v in s.labels.items() if k != "service")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("service") == service
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def created(user_id: uuid.UUID | None = None) -> UserCreated:
    return UserCreated(user_id=user_id or uuid.uuid4(), email="m@example.com", created_at=datetime.now(UTC))


async def test_published_and_consumed_events_are_counted(service: FastAPI) -> None:
    async with service.state.db.sessions() as session, session.begin():
        for _ in range(3):
            await emit(session, created())

    async def counted() -> bool:  # the relay marks rows sent after the confirm: maybe after they were applied
        samples = await scrape(service)
        applied = value(samples, "events_consumed_total", type="user.created", outcome="applied")
        return applied == 3 and value(samples, "outbox_pending_events") == 0

    await until(counted)
    samples = await scrape(service)
    assert value(samples, "events_published_total", type="user.created") == 3
    assert value(samples, "outbox_oldest_pending_seconds") == 0
    assert value(samples, "dead_letter_queue_messages") == 0


async def test_outbox_lag_is_measured_at_scrape_time_while_nothing_is_published(service: FastAPI) -> None:
    for task in [t for t in asyncio.all_tasks() if t.get_name() == "outbox-relay"]:
        task.cancel()  # a relay that cannot publish (broker gone): the rows wait
    async with service.state.db.sessions() as session, session.begin():
        for _ in range(2):
            await emit(session, created())
        await session.flush()
        await session.execute(update(OutboxEvent).values(created_at=datetime.now(UTC) - timedelta(minutes=3)))
    samples = await scrape(service)
    assert value(samples, "outbox_pending_events") == 2
    assert 180 <= value(samples, "outbox_oldest_pending_seconds") < 240


async def test_failed_and_rejected_events_are_counted_and_the_dead_letter_queue_measured(service: FastAPI) -> None:
    bus = service.state.bus
    await bus.publish("user.events", "user.created", {"not": "an event"}, message_id="poison-1")
    failing = CloudEvent.wrap("test", created(FAILING))
    await bus.publish("user.events", "user.created", failing.model_dump(mode="json"), message_id=failing.id)

    async def parked() -> bool:
        return value(await scrape(service), "dead_letter_queue_messages") == 2

    await until(parked, timeout=30 + 5 * DELIVERY_LIMIT)
    samples = await scrape(service)
    assert value(samples, "events_consumed_total", type="user.created", outcome="rejected") == 1
    # every allowed delivery failed: the first and DELIVERY_LIMIT redeliveries, the last one parking the event
    assert value(samples, "events_consumed_total", type="user.created", outcome="failed") == DELIVERY_LIMIT
    assert value(samples, "events_consumed_total", type="user.created", outcome="dead_lettered") == 1
