"""The outbox relay's publish path against real PostgreSQL and RabbitMQ: order kept while batches are
pipelined, rows the broker did not take left pending with their error, no commit's wake-up lost, a
batch written at once arriving intact."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from pfms_contracts.identity import UserCreated
from pfms_devservers import Stack
from pfms_platform.db import Base, Database
from pfms_platform.events import bus as bus_module
from pfms_platform.events.bus import Bus, Outgoing
from pfms_platform.events.outbox import OutboxRelay, emit, emit_many
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.testing.fixtures import _admin

pytestmark = pytest.mark.integration


@dataclass
class Place:
    db: Database
    url: str
    amqp: str


@pytest.fixture
async def place(stack: Stack) -> AsyncIterator[Place]:
    """A database with an outbox table and a vhost with the fleet's exchanges, both of their own."""
    name = f"relay_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__])
    await engine.dispose()
    stack.rabbitmq.add_vhost(name)
    db = Database(url, service="probe")
    yield Place(db, url, stack.rabbitmq.url(name))
    await db.dispose()
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


def created(user_id: uuid.UUID | None = None) -> UserCreated:
    return UserCreated(user_id=user_id or uuid.uuid4(), email="p@example.com", created_at=datetime.now(UTC))


async def pending(db: Database) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).where(OutboxEvent.sent_at.is_(None))) or 0)


async def test_pipelined_batches_publish_every_row_once_in_the_order_of_its_commit(place: Place) -> None:
    """Batches of 50, three in flight: each transaction's events reach the queue after the previous
    transaction's, every one exactly once, each exactly as it was stored."""
    users = [uuid.uuid4() for _ in range(4)]
    for user in users:  # one transaction (one created_at) per user, 120 events each
        async with place.db.sessions() as session, session.begin():
            await emit_many(session, [created(user) for _ in range(120)])
    async with place.db.sessions() as session:
        stored = {str(i): p for i, p in (await session.execute(select(OutboxEvent.id, OutboxEvent.payload))).all()}
    bus = Bus(place.amqp, "probe")
    await bus.connect()
    connection = await aio_pika.connect(place.amqp)
    tap = await (await connection.channel()).declare_queue(exclusive=True)
    await tap.bind("user.events", routing_key="user.created")
    relay = OutboxRelay(place.db, bus, "probe", place.url, batch=50, depth=3)
    task = asyncio.create_task(relay.run())
    try:
        seen: list[str] = []
        subjects: list[str] = []
        async with asyncio.timeout(60):
            async with tap.iterator() as messages:
                async for message in messages:
                    await message.ack()
                    assert message.type == "user.created" and message.content_type == "application/cloudevents+json"
                    assert orjson.loads(message.body) == stored[str(message.message_id)]
                    seen.append(str(message.message_id))
                    subjects.append(orjson.loads(message.body)["subject"])
                    if len(seen) == 480:
                        break
        assert sorted(seen) == sorted(stored) and len(set(seen)) == 480
        assert subjects == [str(user) for user in users for _ in range(120)]
        async with asyncio.timeout(30):
            while await pending(place.db):
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await connection.close()
        await bus.close()


async def test_rows_the_broker_did_not_take_stay_pending_with_their_error(place: Place) -> None:
    async with place.db.sessions() as session, session.begin():
        for _ in range(3):
            await emit(session, created())
    unreachable = Bus(place.amqp, "probe")  # never connected: every publish is refused
    relay = OutboxRelay(place.db, unreachable, "probe", place.url)
    assert await relay.publish_batch() == (0, 3)
    assert await relay.publish_batch() == (0, 3)
    async with place.db.sessions() as session:
        rows = (await session.scalars(select(OutboxEvent))).all()
    assert {(r.sent_at, r.attempts) for r in rows} == {(None, 2)}
    assert all("broker not connected" in (r.last_error or "") for r in rows)
    assert (await unreachable.send_many([])).result() == []


class CommitsDuringSend(Bus):
    """A bus that, while the relay's first batch is on its way, has another transaction commit an event
    (and its NOTIFY reach the relay) before the batch's confirms are in."""

    def __init__(self, url: str, db: Database) -> None:
        super().__init__(url, "probe")
        self.db = db
        self.sends = 0

    async def send_many(self, messages: Sequence[Outgoing]) -> asyncio.Future[list[BaseException | None]]:
        self.sends += 1
        if self.sends == 1:
            async with self.db.sessions() as session, session.begin():
                await emit(session, created())
            await asyncio.sleep(0.5)  # the NOTIFY arrives while this batch is in flight
        return await super().send_many(messages)


async def test_an_event_committed_while_a_batch_is_in_flight_goes_out_without_waiting_for_the_timer(
    place: Place,
) -> None:
    bus = CommitsDuringSend(place.amqp, place.db)
    await bus.connect()
    relay = OutboxRelay(place.db, bus, "probe", place.url, idle_seconds=60)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(1)  # the relay is listening and idle
        async with place.db.sessions() as session, session.begin():
            await emit(session, created())
        async with asyncio.timeout(10):  # well before the 60 s idle timer
            while bus.sends < 2 or await pending(place.db):
                await asyncio.sleep(0.05)
        async with place.db.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.close()


async def test_a_batch_goes_out_as_one_write_with_bodies_larger_than_a_frame_intact(place: Place) -> None:
    bus = Bus(place.amqp, "probe")
    await bus.connect()
    connection = await aio_pika.connect(place.amqp)
    tap = await (await connection.channel()).declare_queue(exclusive=True)
    await tap.bind("user.events", routing_key="user.created")
    bodies = [b'{"n": %d, "pad": "%s"}' % (i, b"x" * size) for i, size in enumerate((0, 10, 300_000, 5))]
    try:
        outcomes = await (
            await bus.send_many([Outgoing("user.events", "user.created", b, str(i), {}) for i, b in enumerate(bodies)])
        )
        assert outcomes == [None] * 4
        received = []
        for _ in range(4):
            message = await tap.get(timeout=10)
            received.append((message.message_id, message.body))
        assert received == [(str(i), b) for i, b in enumerate(bodies)]
    finally:
        await connection.close()
        await bus.close()


async def test_confirmations_give_none_when_acked_else_the_error_or_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bus_module, "PUBLISH_TIMEOUT", 0.05)
    loop = asyncio.get_running_loop()
    acked, nacked, silent = loop.create_future(), loop.create_future(), loop.create_future()
    acked.set_result(object())
    nacked.set_exception(RuntimeError("nack"))
    outcomes = await bus_module._outcomes([acked, nacked, silent])
    assert outcomes[0] is None
    assert isinstance(outcomes[1], RuntimeError) and isinstance(outcomes[2], TimeoutError)
    assert silent.cancelled()
