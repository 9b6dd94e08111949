"""Producing side: write events into the caller's transaction; a relay publishes them later."""

import asyncio
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts import CloudEvent, EventData
from pfms_platform import tracing
from pfms_platform.db import Database
from pfms_platform.events import causation
from pfms_platform.events.bus import Bus
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.logging import correlation_id, get_logger
from pfms_platform.metrics import EVENTS_PUBLISHED, OUTBOX_LAG

log = get_logger(__name__)

CHANNEL = "pfms_outbox"


async def emit(session: AsyncSession, data: EventData) -> CloudEvent:
    """Add an event to the current unit of work; it leaves only if the transaction commits."""
    source = str(session.info.get("service", "pfms"))
    event = CloudEvent.wrap(
        source, data, correlation_id=correlation_id.get(), causation_chain=causation.stamp(), trace=tracing.carrier()
    )
    session.add(
        OutboxEvent(
            id=uuid.UUID(event.id),
            exchange=data.exchange,
            routing_key=event.type,
            payload=event.model_dump(mode="json"),
        )
    )
    await session.execute(text(f"NOTIFY {CHANNEL}"))
    return event


async def emit_many(session: AsyncSession, events: Sequence[EventData]) -> int:
    """Add many events to the current unit of work with one COPY (bulk imports, mass moves).

    Same promise as `emit` (they leave only if the transaction commits), at a fraction of the cost
    per event: the envelope is built once and only `id`, `type`, `subject` and `data` vary.
    """
    if not events:
        return 0
    template = _envelope(session, events[0])
    records = []
    for data in events:
        event_id = uuid.uuid4()
        payload = {
            **template,
            "id": str(event_id),
            "type": data.type,
            "subject": str(data.user_id),
            "dataschema": f"urn:pfms:event:{data.type}:v{data.version}",
            "data": data.model_dump(mode="json"),
        }
        records.append((event_id, data.exchange, data.type, orjson.dumps(payload).decode()))
    return await _copy(session, records)


async def emit_payloads(session: AsyncSession, model: type[EventData], payloads: Sequence[dict[str, Any]]) -> int:
    """`emit_many` for events of one type whose data the caller already holds in JSON form (a bulk
    import builds them straight from its parsed rows, skipping a model per row).

    The first payload is validated against `model`, so payloads that drift from the contract fail
    at once instead of reaching consumers.
    """
    if not payloads:
        return 0
    template = _envelope(session, model.model_validate(payloads[0]))
    records = []
    for event_id, data in zip(random_ids(len(payloads)), payloads, strict=True):
        payload = {**template, "id": event_id, "subject": str(data["user_id"]), "data": data}
        records.append((event_id, model.exchange, model.type, orjson.dumps(payload).decode()))
    return await _copy(session, records)


def random_ids(n: int) -> list[str]:
    """`n` random version 4 UUIDs as text, from one read of the OS's random source and without a
    `uuid.UUID` per id (bulk paths; asyncpg takes the text for a uuid column)."""
    pool = os.urandom(16 * n).hex()
    return [
        f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
        for h in (pool[i : i + 32] for i in range(0, 32 * n, 32))
    ]


def _envelope(session: AsyncSession, sample: EventData) -> dict[str, Any]:
    source = str(session.info.get("service", "pfms"))
    return CloudEvent.wrap(
        source, sample, correlation_id=correlation_id.get(), causation_chain=causation.stamp(), trace=tracing.carrier()
    ).model_dump(mode="json")


async def _copy(session: AsyncSession, records: Sequence[tuple[uuid.UUID | str, str, str, str]]) -> int:
    connection = await (await session.connection()).get_raw_connection()
    driver: asyncpg.Connection = connection.driver_connection
    await driver.copy_records_to_table(
        OutboxEvent.__tablename__, records=records, columns=["id", "exchange", "routing_key", "payload"]
    )
    await session.execute(text(f"NOTIFY {CHANNEL}"))
    return len(records)


async def forget_published(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Delete the published events about a deleted person (their payloads carry what the person
    wrote: names, descriptions, contact details). Unpublished ones stay: they still have to go out."""
    done = await session.execute(
        delete(OutboxEvent).where(
            OutboxEvent.sent_at.is_not(None), OutboxEvent.payload["subject"].astext == str(user_id)
        )
    )
    return int(getattr(done, "rowcount", 0) or 0)


class OutboxRelay:
    """Publishes pending outbox rows with publisher confirms, then marks them sent.

    Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays never publish the same row
    at once; a crash after publishing but before the commit republishes it, and consumers' inboxes
    make that harmless.
    """

    def __init__(
        self, db: Database, bus: Bus, service: str, dsn: str, *, batch: int = 200, idle_seconds: float = 1.0
    ) -> None:
        self.db = db
        self.bus = bus
        self.service = service
        self.dsn = dsn.replace("+asyncpg", "")
        self.batch = batch
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    async def publish_batch(self) -> tuple[int, int]:
        """Publish one batch; returns (published, failed). Failed rows stay pending with their error."""
        async with self.db.sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.sent_at.is_(None))
                    .order_by(OutboxEvent.created_at)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0, 0
            results = await asyncio.gather(
                *(self.bus.publish(r.exchange, r.routing_key, r.payload, message_id=str(r.id)) for r in rows),
                return_exceptions=True,
            )
            now = datetime.now(UTC)
            sent = [r.id for r, res in zip(rows, results, strict=True) if not isinstance(res, BaseException)]
            failed = [(r, res) for r, res in zip(rows, results, strict=True) if isinstance(res, BaseException)]
            if sent:
                await session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(sent)).values(sent_at=now))
            for row, exc in failed:
                row.attempts += 1
                row.last_error = repr(exc)[:500]
            for row in rows:
                if row.id in sent:
                    EVENTS_PUBLISHED.labels(self.service, row.routing_key).inc()
            if failed:
                log.warning("outbox publish failed", failed=len(failed), error=repr(failed[0][1])[:200])
            return len(sent), len(failed)

    async def pending(self) -> int:
        async with self.db.sessions() as session:
            n = await session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.sent_at.is_(None)))
        OUTBOX_LAG.labels(self.service).set(n or 0)
        return int(n or 0)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda *_: lost.set())
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            await lost.wait()
        finally:
            await conn.close()

    async def _listen(self) -> None:
        """Wake the relay as soon as a transaction with events commits (LISTEN/NOTIFY)."""
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database restarting: the timer keeps polling until it is back
                log.warning("outbox listen failed", error=str(exc))
            await asyncio.sleep(1)

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        backoff = 0.2
        try:
            while True:
                try:
                    n, failed = await self.publish_batch()
                    if not failed and n < self.batch:
                        await self._idle()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # database or broker gone (even between batches): back off, go on
                    log.warning("outbox relay error", error=str(exc)[:200])
                    failed = 1
                if failed:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                else:
                    backoff = 0.2
        finally:
            listener.cancel()

    async def _idle(self) -> None:
        """Wait for a commit's NOTIFY or the idle timer; on the timer, refresh the lag gauge."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
        except TimeoutError:
            await self.pending()
