"""Producing side: write events into the caller's transaction; a relay publishes them later."""

import asyncio
import os
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import Row, Text, Uuid, any_, bindparam, cast, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts import CloudEvent, EventData
from pfms_platform import tracing
from pfms_platform.db import Database
from pfms_platform.events import causation
from pfms_platform.events.bus import Bus, Outgoing
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
    make that harmless. Up to `depth` batches are in flight: the next is claimed and sent while the
    broker confirms the previous ones (each row stays locked, and pending, until its own batch's
    confirms are in), and batches go out on one channel in the order they were claimed.
    """

    def __init__(
        self,
        db: Database,
        bus: Bus,
        service: str,
        dsn: str,
        *,
        batch: int = 500,
        depth: int = 3,
        idle_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.service = service
        self.dsn = dsn.replace("+asyncpg", "")
        self.batch = batch
        self.depth = depth
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    async def publish_batch(self) -> tuple[int, int]:
        """Publish one batch; returns (published, failed). Failed rows stay pending with their error."""
        _, settled = await self._send_batch()
        return await settled if settled is not None else (0, 0)

    async def _send_batch(self) -> tuple[int, asyncio.Task[tuple[int, int]] | None]:
        """Claim the oldest pending rows and hand them to the broker; returns how many, and the task that
        waits for their confirms and marks them (their transaction, and so their locks, last until then)."""
        stack = AsyncExitStack()
        session = await stack.enter_async_context(self.db.sessions())
        try:
            await stack.enter_async_context(session.begin())
            rows = (await session.execute(_CLAIM.limit(self.batch))).all()
            confirms = await self.bus.send_many([_outgoing(row) for row in rows]) if rows else None
        except BaseException as exc:
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        if confirms is None:
            await stack.aclose()
            return 0, None
        return len(rows), asyncio.create_task(self._settle(stack, session, rows, confirms))

    async def _settle(
        self,
        stack: AsyncExitStack,
        session: AsyncSession,
        rows: Sequence[Row[Any]],
        confirms: asyncio.Future[list[BaseException | None]],
    ) -> tuple[int, int]:
        try:
            results = await confirms
            sent = [row.id for row, error in zip(rows, results, strict=True) if error is None]
            failed = [
                {"row_id": row.id, "error": repr(error)[:500]}
                for row, error in zip(rows, results, strict=True)
                if error is not None
            ]
            connection = await session.connection()
            if sent:
                await connection.execute(_MARK_SENT, {"ids": sent, "now": datetime.now(UTC)})
            if failed:
                await connection.execute(_MARK_FAILED, failed)
        except BaseException as exc:  # rolled back: the rows stay pending, as if never claimed
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        else:
            await stack.aclose()  # commits: only now are the rows sent
        by_type = Counter(row.routing_key for row, error in zip(rows, results, strict=True) if error is None)
        for routing_key, n in by_type.items():
            EVENTS_PUBLISHED.labels(self.service, routing_key).inc(n)
        if failed:
            log.warning("outbox publish failed", failed=len(failed), error=failed[0]["error"][:200])
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
        in_flight: deque[asyncio.Task[tuple[int, int]]] = deque()
        backoff = 0.2
        try:
            while True:
                failed = 0
                try:
                    self._wake.clear()  # before the claim: a commit from here on wakes the next idle wait
                    n, settled = await self._send_batch()
                    if settled is not None:
                        in_flight.append(settled)
                    # A full batch may have more behind it: claim the next while this one is confirmed.
                    while in_flight and (n < self.batch or len(in_flight) >= self.depth):
                        failed += (await in_flight.popleft())[1]
                    if not failed and not in_flight:
                        await self._idle()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # database or broker gone (even between batches): back off, go on
                    log.warning("outbox relay error", error=str(exc)[:200])
                    failed = 1
                if failed:
                    await asyncio.gather(*in_flight, return_exceptions=True)
                    in_flight.clear()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                else:
                    backoff = 0.2
        finally:
            listener.cancel()
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _idle(self) -> None:
        """Wait for a commit's NOTIFY (since the last claim) or the idle timer; on the timer, refresh
        the lag gauge."""
        try:
            await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
        except TimeoutError:
            await self.pending()


_SPAN_FIELDS = (*tracing.TRACE_FIELDS, "source")
_CLAIM = (
    select(
        OutboxEvent.id,
        OutboxEvent.exchange,
        OutboxEvent.routing_key,
        cast(OutboxEvent.payload, Text).label("body"),
        *(OutboxEvent.payload[field].astext.label(field) for field in _SPAN_FIELDS),
    )
    .where(OutboxEvent.sent_at.is_(None))
    .order_by(OutboxEvent.created_at)
    .with_for_update(skip_locked=True)
)
"""The oldest pending rows, each with its envelope as JSON text (sent as it is) and the fields of it
that publishing reads: no envelope is parsed or serialised again on the way out."""
_MARK_SENT = (
    update(OutboxEvent)
    .where(OutboxEvent.id == any_(bindparam("ids", type_=ARRAY(Uuid))))
    .values(sent_at=bindparam("now"))
)
_MARK_FAILED = (
    update(OutboxEvent)
    .where(OutboxEvent.id == bindparam("row_id"))
    .values(attempts=OutboxEvent.attempts + 1, last_error=bindparam("error"))
)


def _outgoing(row: Row[Any]) -> Outgoing:
    trace = {field: value for field in _SPAN_FIELDS if (value := getattr(row, field)) is not None}
    return Outgoing(row.exchange, row.routing_key, row.body.encode(), str(row.id), trace)
