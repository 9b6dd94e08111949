"""Consuming into MongoDB: the platform consumer with a MongoDB inbox, applying events in batches.

The platform `Consumer` owns the queue, its dead-lettering, parsing and ack/nack with backoff; only
`apply` (and the queue's prefetch) differ. Here `apply` hands the event to a batcher and waits: the
batcher runs the handlers of up to `batch_size` events into one unit of work and commits it with the
inbox marks in one transaction — MongoDB-wire servers pay per round trip, so one commit per event
would cap the consumer at a few hundred events a second. A batch that fails is retried event by
event, so one bad event fails alone (and is nacked, then parked after the delivery limit). A batch's
acks leave as one `basic.ack` with `multiple` (pfms_ai.acks), not one frame per message.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from aio_pika.abc import AbstractIncomingMessage

from pfms_ai.acks import BatchedAcks
from pfms_ai.store import INBOX, Mark, Store, Unit
from pfms_contracts import CloudEvent, EventData
from pfms_platform.events import causation
from pfms_platform.events.bus import Bus
from pfms_platform.events.consumer import Consumer, Handler, queue_name
from pfms_platform.logging import correlation_id, get_logger

log = get_logger(__name__)

MongoHandler = Callable[[Any, Unit, Any], Awaitable[None]]
Prepare = Callable[[list[EventData]], Awaitable[None]]
"""(context, unit, event data): queues the writes and events one event causes on the unit; must be
idempotent (keyed writes). The context is whatever the service hands its consumer (its dependencies)."""


@dataclass
class _Pending:
    event: CloudEvent
    data: EventData
    done: asyncio.Future[bool]


class MongoConsumer(Consumer):
    def __init__(
        self,
        store: Store,
        bus: Bus,
        service: str,
        handlers: dict[str, MongoHandler],
        context: Any,
        *,
        prepare: Prepare | None = None,
        batch_size: int = 256,
        linger_seconds: float = 0.01,
    ) -> None:
        # Not the parent's constructor: it takes a PostgreSQL database this consumer does not have.
        # The parent reads `handlers` only for its keys (bindings, which types to parse).
        self.bus = bus
        self.service = service
        self.handlers = cast(dict[str, Handler], handlers)
        self.mongo_handlers = handlers
        self.context = context
        self.prepare = prepare
        self.queue = queue_name(service)
        self.ready = asyncio.Event()
        self.store = store
        self.batch_size = batch_size
        self.linger_seconds = linger_seconds
        self._pending: list[_Pending] = []
        self._arrived = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        self.acks = BatchedAcks()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        """The platform's handling, with the acks of a batch sent as one frame (pfms_ai.acks)."""
        await super().on_message(self.acks.delivered(message))

    async def apply(self, event: CloudEvent, data: EventData) -> bool:
        """Applied once per event id: False if this consumer had already applied it."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(event, data, done))
        self._arrived.set()
        return await done

    async def run(self) -> None:
        self._batcher = asyncio.create_task(self._batches(), name="inbox-batcher")
        try:
            await self.subscribe(prefetch=self.batch_size * 2)
            await asyncio.Future()  # consume until cancelled
        finally:
            self._batcher.cancel()

    async def _batches(self) -> None:
        while True:
            await self._arrived.wait()
            await self._linger()
            batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
            if not self._pending:
                self._arrived.clear()
            try:
                await self.apply_batch(batch)
            except Exception as exc:  # the futures carry each event's own outcome; keep batching
                log.error("inbox batch crashed", error=repr(exc)[:300])
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)

    async def _linger(self) -> None:
        """Let a batch fill while events keep arriving: until none came for `linger_seconds`, the batch is
        full, or ten lingers passed. A lone event waits one linger; a stream arriving a little slower
        than it is applied still makes large batches (each commit has a fixed cost in round trips)."""
        for _ in range(10):
            size = len(self._pending)
            if size >= self.batch_size:
                return
            await asyncio.sleep(self.linger_seconds)
            if len(self._pending) == size:
                return

    async def apply_batch(self, batch: list[_Pending]) -> None:
        ids = [p.event.id for p in batch]
        recorded = self.store.db[INBOX].find({"consumer": self.service, "event_id": {"$in": ids}}, {"event_id": 1})
        seen = {i async for d in recorded for i in _ids(d["event_id"])} & set(ids)
        fresh = []
        for item in batch:
            if item.event.id in seen:
                item.done.set_result(False)
            else:
                seen.add(item.event.id)
                fresh.append(item)
        if self.prepare is not None and fresh:
            try:
                await self.prepare([item.data for item in fresh])
            except Exception as exc:  # the handlers then do the work one event at a time
                log.warning("batch preparation failed", error=str(exc)[:200])
        combined = Unit()
        units: list[tuple[_Pending, Unit]] = []
        for item in fresh:
            try:
                unit = await self._handle(item)
            except Exception as exc:
                item.done.set_exception(exc)
                continue
            units.append((item, unit))
            combined.merge(unit)
        if not units:
            return
        try:
            await self.store.commit(combined)
        except Exception as exc:
            log.warning("inbox batch failed, applying one by one", size=len(units), error=str(exc)[:200])
            for item, unit in units:
                await self._commit_one(item, unit)
            return
        for item, _ in units:
            item.done.set_result(True)

    async def _handle(self, item: _Pending) -> Unit:
        unit = Unit()
        token = correlation_id.set(item.event.correlationid)
        try:
            with causation.handling(item.event):
                await self.mongo_handlers[item.event.type](self.context, unit, item.data)
        finally:
            correlation_id.reset(token)
        unit.inbox.append(Mark(self.service, item.event.id, item.event.type))
        return unit

    async def _commit_one(self, item: _Pending, unit: Unit) -> None:
        unit.upserts = True  # the batch may have failed on a document this event's insert would meet
        try:
            await self.store.commit(unit)
        except Exception as exc:
            if await self.store.db[INBOX].find_one({"consumer": self.service, "event_id": item.event.id}):
                item.done.set_result(False)  # another replica applied it meanwhile
            else:
                item.done.set_exception(exc)
            return
        item.done.set_result(True)


def _ids(recorded: str | list[str]) -> list[str]:
    """An inbox document records the ids of one commit (older ones a single id)."""
    return [recorded] if isinstance(recorded, str) else recorded
