"""Published events are kept for a while, so that one consumer can be sent them again.

A consumer restored from a backup taken at T has lost the events it applied after T, but their
producers still hold them: the relay marks a row sent and leaves it in the outbox. `replay` sends a
producer's retained events since T to that one consumer's queue (through the default exchange, so no
other consumer sees them twice); the consumer's inbox skips whatever the backup already had.
`prune` bounds the table (`create_app` runs `prune_loop`): rows published longer ago than the
retention (`outbox_retention_days`) go, unpublished ones never do. A backup older than the
retention cannot be caught up this way.
"""

import asyncio
import importlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import aio_pika
import orjson
from sqlalchemy import delete, select, tuple_

from pfms_platform.catalogue import service
from pfms_platform.db import Database
from pfms_platform.events.bus import CONTENT_TYPE
from pfms_platform.events.consumer import queue_name
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.logging import get_logger
from pfms_platform.settings import ServiceSettings

log = get_logger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


async def prune(db: Database, keep: timedelta, *, batch: int = 5000) -> int:
    """Delete the rows published before now - `keep`, `batch` at a time (short transactions, so
    the relay and writers are never held up); returns how many went."""
    cutoff = datetime.now(UTC) - keep
    total = 0
    while True:
        async with db.sessions() as session, session.begin():
            oldest = select(OutboxEvent.id).where(OutboxEvent.sent_at < cutoff).limit(batch)
            done = await session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(oldest.scalar_subquery())))
        deleted = int(getattr(done, "rowcount", 0) or 0)
        total += deleted
        if deleted < batch:
            return total


async def prune_loop(db: Database, retention_days: float, every: float = PRUNE_EVERY_SECONDS) -> None:
    """`prune` now and then every `every` seconds (replicas running it at once only wait on each other)."""
    while True:
        pruned = await prune(db, timedelta(days=retention_days))
        if pruned:
            log.info("outbox pruned", deleted=pruned, retention_days=retention_days)
        await asyncio.sleep(every)


def consumed_types(consumer: str) -> set[str] | None:
    """The event types `consumer` handles, when its code is installed here (the workspace, the
    local runner); None in a service image that holds only its own code: then every retained event
    is sent and the consumer acknowledges the types it has no handler for without touching them."""
    try:
        module = importlib.import_module(f"{service(consumer).package}.events")
    except ModuleNotFoundError:
        return None
    return set(module.HANDLERS)


async def replay(
    db: Database, amqp_url: str, consumer: str, since: datetime, types: Collection[str] | None, *, page: int = 500
) -> int:
    """Publish the events published since `since` (by their creation time), oldest first, to
    `consumer`'s queue alone, with confirms; only `types` if given. Returns how many were sent."""
    queue = queue_name(consumer)
    connection = await aio_pika.connect(amqp_url)
    sent = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, passive=True)  # a misspelt or absent queue fails here, not silently
        after: tuple[datetime, object] | None = None
        while True:
            query = select(OutboxEvent).where(OutboxEvent.sent_at.is_not(None), OutboxEvent.created_at >= since)
            if types is not None:
                query = query.where(OutboxEvent.routing_key.in_(sorted(types)))
            if after is not None:
                query = query.where(tuple_(OutboxEvent.created_at, OutboxEvent.id) > after)
            async with db.sessions() as session:
                rows = (await session.scalars(query.order_by(OutboxEvent.created_at, OutboxEvent.id).limit(page))).all()
            if not rows:
                break
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(
                            orjson.dumps(row.payload),
                            content_type=CONTENT_TYPE,
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            message_id=str(row.id),
                            type=row.routing_key,
                        ),
                        routing_key=queue,
                        timeout=10,
                    )
                    for row in rows
                )
            )
            sent += len(rows)
            after = (rows[-1].created_at, rows[-1].id)
    log.info("outbox replayed", consumer=consumer, since=since.isoformat(), sent=sent)
    return sent


async def replay_to(settings: ServiceSettings, consumer: str, since: datetime) -> int:
    """`pfms-<svc> outbox-replay`: this service's retained events since `since` that `consumer` handles."""
    db = Database(settings.database_url, pool_size=1, service=settings.service_name)
    try:
        return await replay(db, settings.amqp_url, consumer, since, consumed_types(consumer))
    finally:
        await db.dispose()
