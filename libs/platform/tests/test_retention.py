"""Outbox retention and replay against real PostgreSQL and RabbitMQ: old published rows go, pending
ones stay; a replay reaches the one consumer named, oldest first, and nobody else."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aio_pika
import orjson
import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from pfms_devservers import Stack
from pfms_platform.db import Base, Database
from pfms_platform.events.retention import consumed_types, prune, replay
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.testing import Running
from pfms_platform.testing.fixtures import _admin, fresh_database
from pfms_platform.testing.helpers import until

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
async def outbox(stack: Stack) -> AsyncIterator[tuple[Database, str]]:
    """A database holding only the outbox table, and a vhost of its own (its AMQP URL)."""
    name = f"retention_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    engine = create_async_engine(stack.postgres.url(name))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__])
    await engine.dispose()
    stack.rabbitmq.add_vhost(name)
    db = Database(stack.postgres.url(name), pool_size=2, service="expense")
    yield db, stack.rabbitmq.url(name)
    await db.dispose()
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def row(key: str, created: datetime, sent: datetime | None) -> dict[str, object]:
    event_id = uuid.uuid4()
    payload = {"id": str(event_id), "type": key, "data": {"n": created.isoformat()}}
    return {
        "id": event_id,
        "exchange": "financial.events",
        "routing_key": key,
        "payload": payload,
        "created_at": created,
        "sent_at": sent,
    }


async def test_prune_drops_rows_published_before_the_retention_and_never_pending_ones(
    outbox: tuple[Database, str],
) -> None:
    db, _ = outbox
    old, recent = NOW - timedelta(days=9), NOW - timedelta(days=2)
    rows = [
        row("expense.created", old, old),  # published long ago: goes
        row("expense.created", old, old),
        row("expense.updated", old, None),  # never published: stays, it still has to go out
        row("expense.created", recent, recent),  # within the retention: stays
    ]
    async with db.sessions() as session, session.begin():
        await session.execute(insert(OutboxEvent), rows)
    assert await prune(db, timedelta(days=7), batch=1) == 2  # batches until none is left
    async with db.sessions() as session:
        kept = set(await session.scalars(select(OutboxEvent.id)))
    assert kept == {rows[2]["id"], rows[3]["id"]}
    assert await prune(db, timedelta(days=7)) == 0


async def test_replay_sends_published_events_since_a_time_to_one_consumer_only(outbox: tuple[Database, str]) -> None:
    db, amqp_url = outbox
    t = NOW - timedelta(hours=3)
    rows = [
        row("expense.created", t - timedelta(minutes=5), t),  # before `since`: not sent
        row("expense.created", t + timedelta(minutes=1), t),
        row("expense.updated", t + timedelta(minutes=2), t),
        row("expense.categorized", t + timedelta(minutes=3), t),  # a type the consumer has no handler for
        row("expense.deleted", t + timedelta(minutes=4), None),  # still pending: the relay sends it to all
        row("expense.deleted", t + timedelta(minutes=5), t),
    ]
    async with db.sessions() as session, session.begin():
        await session.execute(insert(OutboxEvent), rows)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("financial.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queues = {}
        for name in ("tax.events", "savings.events"):  # both consume expense events
            queues[name] = await channel.declare_queue(name, durable=True)
            await queues[name].bind(exchange, routing_key="expense.*")
        handled = {"expense.created", "expense.updated", "expense.deleted"}
        sent = await replay(db, amqp_url, "tax", t, handled, page=2)
        assert sent == 3
        got = []
        while (message := await queues["tax.events"].get(fail=False, no_ack=True)) is not None:
            got.append((message.message_id, message.type, orjson.loads(message.body)))
        assert got == [(str(r["id"]), r["routing_key"], r["payload"]) for r in (rows[1], rows[2], rows[5])]
        assert await queues["savings.events"].get(fail=False) is None, "a replay is not a re-broadcast"
        with pytest.raises(aio_pika.exceptions.ChannelClosed):
            await replay(db, amqp_url, "loan", t, None)  # no loan.events queue here: refused, not dropped


def test_a_consumers_types_come_from_its_handlers() -> None:
    types = consumed_types("income")
    assert types is not None and {"expense.created", "user.deleted"} <= types


@pytest.fixture
async def aged_outbox(stack: Stack) -> AsyncIterator[str]:
    """A migrated user database whose outbox holds an event published 30 days ago and one published now."""
    database = await fresh_database(stack, "user")
    old = NOW - timedelta(days=30)
    engine = create_async_engine(stack.postgres.url(database))
    async with engine.begin() as conn:
        await conn.execute(insert(OutboxEvent), [row("user.created", old, old), row("user.updated", NOW, NOW)])
    await engine.dispose()
    yield database
    await _admin(stack, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.mark.parametrize(("days", "left"), [(7, 1), (0, 2)])
async def test_a_service_prunes_its_outbox_from_the_start_unless_retention_is_zero(
    aged_outbox: str, make_service: Callable[..., Awaitable[Running]], days: float, left: int
) -> None:
    svc = await make_service("user", database=aged_outbox, outbox_retention_days=days)

    async def pruned() -> bool:
        return await svc.count(OutboxEvent) == left

    await until(pruned, timeout=10)
    await asyncio.sleep(0.3)  # and no more than that goes (with 0, nothing ever does)
    assert await svc.count(OutboxEvent) == left
