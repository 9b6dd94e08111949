"""The outbox, relay and consumer against real PostgreSQL and RabbitMQ: nothing lost, nothing twice."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import Column, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated, UserDeleted, UserUpdated
from pfms_devservers import Stack
from pfms_platform.app import create_app
from pfms_platform.db import Base, Database
from pfms_platform.events.bus import DELIVERY_LIMIT, Bus, queue_arguments
from pfms_platform.events.consumer import Consumer
from pfms_platform.events.deadletters import replay
from pfms_platform.events.outbox import OutboxRelay, emit
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.keys import TestKeys

pytestmark = pytest.mark.integration

probe_meta = MetaData()
applied = Table("probe_applied", probe_meta, Column("event_id", String, primary_key=True), Column("user_id", Uuid))
FAILING_USER = uuid.UUID(int=13)
BROKEN = {FAILING_USER}
"""Users whose events the handler fails on; a test 'deploys the fix' by emptying it."""
REACTING_USER = uuid.UUID(int=21)


async def record(session: AsyncSession, data: UserCreated) -> None:
    if data.user_id in BROKEN:
        raise RuntimeError("this handler fails for user 13 until the fix")
    if data.user_id == REACTING_USER:  # a handler that reacts by publishing
        await emit(session, UserUpdated(user_id=data.user_id, section="profile", changes={"first_name": "R"}))
    await session.execute(insert(applied).values(event_id=str(uuid.uuid4()), user_id=data.user_id))


async def forgotten(session: AsyncSession, data: UserDeleted) -> None:
    """The probe keeps nothing else about a person; the platform drops its published events about them."""


async def count(db: Database, table: Any, *where: Any) -> int:
    async with db.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def probe(stack: Stack, jwt_keys: TestKeys) -> AsyncIterator[FastAPI]:
    """A service named `probe` consuming user.created, on its own database and vhost."""
    name = f"probe_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__, InboxEvent.__table__])
        await conn.run_sync(probe_meta.create_all)
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
    app = create_app(settings, title="probe", handlers={"user.created": record, "user.deleted": forgotten})
    async with LifespanManager(app):
        await asyncio.wait_for(app.state.consumer.ready.wait(), 60)
        app.state.vhost = name
        yield app
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


def created(user_id: uuid.UUID | None = None) -> UserCreated:
    return UserCreated(user_id=user_id or uuid.uuid4(), email="p@example.com", created_at=datetime.now(UTC))


async def test_committed_events_are_published_and_applied_once(probe: FastAPI) -> None:
    db: Database = probe.state.db
    async with db.sessions() as session, session.begin():
        for _ in range(50):
            await emit(session, created())
    await wait_for(lambda: _eq(count(db, applied), 50))
    assert await count(db, OutboxEvent, OutboxEvent.sent_at.is_(None)) == 0
    assert await count(db, InboxEvent) == 50


async def test_rolled_back_transaction_publishes_nothing(probe: FastAPI) -> None:
    db: Database = probe.state.db
    async with db.sessions() as session:
        await emit(session, created())
        await session.rollback()
    assert await count(db, OutboxEvent) == 0


async def test_redelivered_event_changes_nothing(probe: FastAPI) -> None:
    db: Database = probe.state.db
    event = CloudEvent.wrap("test", created())
    bus: Bus = probe.state.bus
    for _ in range(3):
        await bus.publish("user.events", "user.created", event.model_dump(mode="json"), message_id=event.id)
    await wait_for(lambda: _eq(count(db, InboxEvent), 1))
    await asyncio.sleep(0.5)
    assert await count(db, applied) == 1


async def test_events_emitted_by_a_handler_carry_the_causation_chain_onwards(probe: FastAPI) -> None:
    db: Database = probe.state.db
    cause = CloudEvent.wrap("test", created(REACTING_USER)).model_copy(update={"causationchain": "e1 e2"})
    await probe.state.bus.publish("user.events", "user.created", cause.model_dump(mode="json"), message_id=cause.id)
    await wait_for(lambda: _eq(count(db, OutboxEvent, OutboxEvent.routing_key == "user.updated"), 1))
    async with db.sessions() as session:
        payload = await session.scalar(select(OutboxEvent.payload).where(OutboxEvent.routing_key == "user.updated"))
    assert payload["causationchain"] == f"e1 e2 {cause.id}"
    async with db.sessions() as session, session.begin():  # outside a handler nothing is stamped
        plain = await emit(session, created())
    assert plain.causationchain is None


async def test_poison_and_failing_events_are_parked_and_replayed_after_a_fix(probe: FastAPI, stack: Stack) -> None:
    bus: Bus = probe.state.bus
    await bus.publish("user.events", "user.created", {"not": "a cloudevent"}, message_id="poison-1")
    failing = CloudEvent.wrap("test", created(FAILING_USER))
    await bus.publish("user.events", "user.created", failing.model_dump(mode="json"), message_id=failing.id)
    dlq = f"{stack.rabbitmq.api}/queues/{probe.state.vhost}/probe.events.dlq"

    async def parked(n: int) -> bool:
        async with httpx.AsyncClient(auth=("guest", "guest")) as client:
            r = await client.get(dlq)
        return r.status_code == 200 and r.json().get("messages", 0) == n

    await wait_for(lambda: parked(2), timeout=30 + 5 * DELIVERY_LIMIT)
    assert await count(probe.state.db, applied) == 0

    BROKEN.discard(FAILING_USER)  # the fix is deployed
    try:
        assert await replay(stack.rabbitmq.url(probe.state.vhost), "probe") == 2
        await wait_for(lambda: _eq(count(probe.state.db, applied, applied.c.user_id == FAILING_USER), 1))
        await wait_for(lambda: parked(1))  # the malformed one is no event at all: parked again at once
        assert await replay(stack.rabbitmq.url(probe.state.vhost), "probe", limit=0) == 0
    finally:
        BROKEN.add(FAILING_USER)


async def test_events_written_while_no_relay_runs_are_delivered_when_it_comes_back(probe: FastAPI) -> None:
    """A relay killed between commit and publish: the rows wait in the outbox, then go out once."""
    db: Database = probe.state.db
    relay_tasks = [t for t in asyncio.all_tasks() if t.get_name() == "outbox-relay"]
    for task in relay_tasks:
        task.cancel()
    await asyncio.gather(*relay_tasks, return_exceptions=True)
    async with db.sessions() as session, session.begin():
        for _ in range(20):
            await emit(session, created())
    await asyncio.sleep(0.5)
    assert await count(db, OutboxEvent, OutboxEvent.sent_at.is_(None)) == 20
    relays = [OutboxRelay(db, probe.state.bus, "probe", probe.state.settings.database_url) for _ in range(3)]
    tasks = [asyncio.create_task(r.run()) for r in relays]  # three relays compete for the rows
    try:
        await wait_for(lambda: _eq(count(db, applied), 20))
        await asyncio.sleep(0.5)
        assert await count(db, applied) == 20
        assert await count(db, InboxEvent) == 20
    finally:
        for task in tasks:
            task.cancel()


async def test_competing_relays_publish_each_row_once(probe: FastAPI, stack: Stack) -> None:
    db: Database = probe.state.db
    connection = await aio_pika.connect(stack.rabbitmq.url(probe.state.vhost))
    channel = await connection.channel()
    tap = await channel.declare_queue(exclusive=True)
    await tap.bind("user.events", routing_key="user.created")
    async with db.sessions() as session, session.begin():
        for _ in range(300):
            await emit(session, created())
    relays = [OutboxRelay(db, probe.state.bus, "probe", probe.state.settings.database_url, batch=20) for _ in range(3)]
    await asyncio.gather(*(r.publish_batch() for r in relays for _ in range(6)))
    await wait_for(lambda: _eq(count(db, OutboxEvent, OutboxEvent.sent_at.is_(None)), 0))
    seen: list[str] = []
    await asyncio.sleep(1)
    while (message := await tap.get(fail=False)) is not None:
        seen.append(str(message.message_id))
        await message.ack()
    await connection.close()
    assert len(seen) == len(set(seen)) == 300


async def test_a_consumer_the_broker_refuses_keeps_trying_until_it_subscribes(stack: Stack) -> None:
    """A declare the broker refuses (here a queue of the same name with other arguments; on a booting
    broker a quorum declare that times out) delays the consumer; it must not end it for good."""
    vhost = f"refuse_{uuid.uuid4().hex[:8]}"
    stack.rabbitmq.add_vhost(vhost)
    connection = await aio_pika.connect(stack.rabbitmq.url(vhost))
    blocker = await (await connection.channel()).declare_queue("probe.events", durable=True)  # classic, no DLX
    bus = Bus(stack.rabbitmq.url(vhost), "probe")
    await bus.connect()
    consumer = Consumer(Database(stack.postgres.url()), bus, "probe", {"user.created": record})
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.sleep(2)
        assert not consumer.ready.is_set() and not task.done()  # refused, still trying
        await blocker.delete(if_unused=False, if_empty=False)
        await asyncio.wait_for(consumer.ready.wait(), 20)
        assert stack.rabbitmq.queue(vhost, "probe.events")["arguments"] == queue_arguments("probe.events")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await connection.close()
        await bus.close()
        await consumer.db.engine.dispose()
        stack.rabbitmq.delete_vhost(vhost)


async def test_a_deleted_persons_published_events_are_dropped_and_unpublished_ones_kept(probe: FastAPI) -> None:
    db: Database = probe.state.db
    gone, other = uuid.uuid4(), uuid.uuid4()
    async with db.sessions() as session, session.begin():
        for user in (gone, gone, other):
            await emit(session, created(user))
    about = OutboxEvent.payload["subject"].astext
    await wait_for(lambda: _eq(count(db, OutboxEvent, OutboxEvent.sent_at.is_not(None)), 3))
    for task in [t for t in asyncio.all_tasks() if t.get_name() == "outbox-relay"]:
        task.cancel()  # from here on nothing is published, so this one stays unpublished
    waiting = uuid.uuid4()
    async with db.sessions() as session, session.begin():
        await session.execute(
            insert(OutboxEvent).values(
                id=waiting, exchange="user.events", routing_key="user.updated", payload={"subject": str(gone)}
            )
        )
    deleted = CloudEvent.wrap("test", UserDeleted(user_id=gone, deleted_at=datetime.now(UTC)))
    await probe.state.bus.publish("user.events", "user.deleted", deleted.model_dump(mode="json"), message_id=deleted.id)
    await wait_for(lambda: _eq(count(db, OutboxEvent, about == str(gone), OutboxEvent.sent_at.is_not(None)), 0))
    assert await count(db, OutboxEvent, about == str(other)) == 1
    assert await count(db, OutboxEvent, OutboxEvent.id == waiting) == 1  # still has to go out


async def _eq(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
