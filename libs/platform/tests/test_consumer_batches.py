"""The consumer's batches against real PostgreSQL and RabbitMQ: what waits is applied in one transaction,
each event once; a failing event is retried alone and parked; a lone event does not wait."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import BigInteger, Column, MetaData, Table, Uuid, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated
from pfms_devservers import Stack
from pfms_platform.app import create_app
from pfms_platform.db import Base, Database
from pfms_platform.events.bus import DELIVERY_LIMIT, Bus
from pfms_platform.events.consumer import Consumer
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.keys import TestKeys

pytestmark = pytest.mark.integration

meta = MetaData()
applied = Table(
    "batch_applied",
    meta,
    Column("user_id", Uuid, primary_key=True),
    Column("times", BigInteger, nullable=False),
    Column("txid", BigInteger, nullable=False),
)
GATE = uuid.UUID(int=1)
FAILING = uuid.UUID(int=2)
gate = asyncio.Event()
entered = asyncio.Event()


async def record(session: AsyncSession, data: UserCreated) -> None:
    """Counts how often each user's event was applied, and in which transaction; the gate user's event
    holds the consumer until the test opens the gate, so that deliveries queue up behind it."""
    if data.user_id == GATE:
        entered.set()
        await gate.wait()
    if data.user_id == FAILING:
        raise RuntimeError("this handler always fails for user 2")
    values = {"user_id": data.user_id, "times": 1, "txid": text("txid_current()")}
    statement = insert(applied).values(values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["user_id"], set_={"times": text("batch_applied.times + 1")})
    )


@pytest.fixture
async def probe(stack: Stack, jwt_keys: TestKeys) -> AsyncIterator[FastAPI]:
    name = f"batch_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__, InboxEvent.__table__])
        await conn.run_sync(meta.create_all)
    await engine.dispose()
    stack.rabbitmq.add_vhost(name)
    settings = ServiceSettings(
        service_name="probe",
        environment="test",
        database_url=url,
        amqp_url=stack.rabbitmq.url(name),
        redis_url=stack.redis.url(0),
        jwks_url=jwt_keys.url,
    )
    app = create_app(settings, title="probe", handlers={"user.created": record})
    async with LifespanManager(app):
        await asyncio.wait_for(app.state.consumer.ready.wait(), 60)
        app.state.vhost = name
        yield app
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def event(user_id: uuid.UUID) -> CloudEvent:
    return CloudEvent.wrap("test", UserCreated(user_id=user_id, email="b@example.com", created_at=datetime.now(UTC)))


async def publish(bus: Bus, *events: CloudEvent) -> None:
    for e in events:
        await bus.publish("user.events", e.type, e.model_dump(mode="json"), message_id=e.id)


async def rows(db: Database) -> dict[uuid.UUID, tuple[int, int]]:
    async with db.sessions() as s:
        return {r.user_id: (r.times, r.txid) for r in await s.execute(select(applied))}


async def queued_behind_the_gate(app: FastAPI, bus: Bus, *events: CloudEvent) -> None:
    """Hold the consumer in the gate event's handler, publish `events` so they wait, then open the gate."""
    consumer: Consumer = app.state.consumer
    gate.clear()
    entered.clear()
    await publish(bus, event(GATE))
    await asyncio.wait_for(entered.wait(), 20)
    await publish(bus, *events)
    await wait_for(lambda: _true(len(consumer._waiting) == len(events)))  # all delivered, waiting for the batch
    gate.set()


async def _true(value: bool) -> bool:
    return value


async def test_waiting_events_are_applied_in_one_transaction_each_once_and_a_failing_one_alone(
    probe: FastAPI, stack: Stack
) -> None:
    bus: Bus = probe.state.bus
    db: Database = probe.state.db
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))

    # a lone event is applied at once: no batch waits to fill
    lone = event(a)
    started = time.monotonic()
    await publish(bus, lone)
    await wait_for(lambda: _applied(db, a))
    assert time.monotonic() - started < 5, "a lone event does not wait for company"

    # waiting events: one transaction; a duplicate inside the batch and a redelivery of an applied one: once
    first = event(b)
    await queued_behind_the_gate(probe, bus, first, event(c), first, lone)
    await wait_for(lambda: _applied(db, c))
    seen = await rows(db)
    assert {u: t for u, (t, _) in seen.items()} == {a: 1, b: 1, c: 1, GATE: 1}
    assert seen[b][1] == seen[c][1] != seen[GATE][1], "b and c were applied in one transaction, after the gate"

    # a failing handler in the middle: the batch is rolled back, the others applied alone once, the failing
    # one retried alone until the broker parks it in the dead-letter queue
    await queued_behind_the_gate(probe, bus, event(d), event(FAILING), event(e))
    await wait_for(lambda: _applied(db, e))
    seen = await rows(db)
    assert seen[d][0] == seen[e][0] == 1 and seen[d][1] != seen[e][1], "d and e were applied alone, once"
    assert FAILING not in seen

    async def queue(name: str) -> dict[str, int]:
        async with httpx.AsyncClient(auth=("guest", "guest")) as client:
            r = await client.get(f"{stack.rabbitmq.api}/queues/{probe.state.vhost}/{name}")
        return r.json() if r.status_code == 200 else {}

    async def parked() -> bool:
        return (await queue("probe.events.dlq")).get("messages", 0) == 1

    await wait_for(parked, timeout=30 + 5 * DELIVERY_LIMIT)
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(InboxEvent)) == 7  # lone, b, c, 2 gates, d, e

    async def settled() -> bool:  # every delivery acked exactly: none left open, none acked twice
        q = await queue("probe.events")
        return q.get("messages", -1) == 0 and q.get("messages_unacknowledged", -1) == 0

    await wait_for(settled, timeout=30)
    assert not probe.state.consumer._unsettled
    assert {u: t for u, (t, _) in (await rows(db)).items()} == {a: 1, b: 1, c: 1, d: 1, e: 1, GATE: 2}


async def _applied(db: Database, user_id: uuid.UUID) -> bool:
    return user_id in await rows(db)
