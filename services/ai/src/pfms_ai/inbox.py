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
from dataclasses import dataclass, field
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
        overlap: Callable[[EventData], bool] | None = None,
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
        self.overlap = overlap
        """Events whose handling reads nothing a previous batch writes: may be prepared while it commits."""
        self.queue = queue_name(service)
        self.ready = asyncio.Event()
        self.store = store
        self.batch_size = batch_size
        self.linger_seconds = linger_seconds
        self._pending: list[_Pending] = []
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._batcher: asyncio.Task[None] | None = None
        self.acks = BatchedAcks()

    async def _delivered(self, message: AbstractIncomingMessage) -> None:
        """The platform's handling, with the acks of a batch sent as one frame (pfms_ai.acks). Wrapped
        on arrival, before the bus's watchers may suspend it, so deliveries are known in tag order."""
        await super()._delivered(self.acks.delivered(message))

    async def apply(self, event: CloudEvent, data: EventData) -> bool:
        """Applied once per event id: False if this consumer had already applied it."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(event, data, done))
        self._arrived.set()
        if len(self._pending) >= self.batch_size:
            self._full.set()
        return await done

    async def run(self) -> None:
        self._batcher = asyncio.create_task(self._batches(), name="inbox-batcher")
        try:
            # Eight batches unacked: with two, the consumer idled between batches waiting for the broker to
            # settle the acks and deliver more (10,000 events: 74 s → 28 s back to back on the busy machine).
            await self.subscribe(prefetch=self.batch_size * 8)
            await asyncio.Future()  # consume until cancelled
        finally:
            self._batcher.cancel()

    async def _batches(self) -> None:
        """Prepare the next batch (inbox read, categorising, handlers) while the previous one commits, when
        that cannot change what the next one sees (`_may_overlap`); at most one commit is in flight and
        commits keep their order, so a batch's inbox read never misses an event an earlier one applied."""
        committing: asyncio.Task[None] | None = None
        in_flight: _Prepared | None = None
        try:
            while True:
                await self._arrived.wait()
                if committing is not None:
                    await self._full_or_done(committing)
                await self._linger()
                batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size :]
                if not self._pending:
                    self._arrived.clear()
                if committing is not None and in_flight is not None and not self._may_overlap(batch, in_flight):
                    await committing
                try:
                    prepared = await self._prepare_batch(batch)
                except Exception as exc:
                    _crashed(batch, exc)
                    continue
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._commit_batch(prepared))
                in_flight = prepared
        finally:
            if committing is not None:
                committing.cancel()

    def _may_overlap(self, batch: list[_Pending], in_flight: "_Prepared") -> bool:
        """Only events whose handling reads nothing an earlier batch writes (`overlap`), none of them an event
        of the batch in flight (it is not in the inbox yet), and only while that batch changes no model or
        other state its after-commit actions would reload."""
        if self.overlap is None or in_flight.combined.after_commit:
            return False
        ids = {item.event.id for item, _ in in_flight.units}
        return all(self.overlap(item.data) and item.event.id not in ids for item in batch)

    async def _full_or_done(self, committing: asyncio.Task[None]) -> None:
        """While a commit is in flight the next batch keeps filling: it starts early only if it is full
        (small batches cost the MongoDB-wire server more per event)."""
        if len(self._pending) >= self.batch_size or committing.done():
            return
        self._full.clear()
        full = asyncio.create_task(self._full.wait())
        try:
            await asyncio.wait({committing, full}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            full.cancel()

    async def _linger(self) -> None:
        """Let a batch fill while events keep arriving: until none came for `linger_seconds`, the batch is
        full, or ten lingers passed. A stream arriving a little slower than it is applied still makes
        large batches (each commit has a fixed cost in round trips); a lone event with nothing behind it
        (nothing more arrived by the next turn of the loop) goes at once, not after a linger (issue 10's
        expense → categorised latency)."""
        for turn in range(10):
            size = len(self._pending)
            if size >= self.batch_size:
                return
            await asyncio.sleep(0 if turn == 0 and size == 1 else self.linger_seconds)
            if len(self._pending) == size:
                return

    async def _prepare_batch(self, batch: list[_Pending]) -> "_Prepared":
        """Drop events already in the inbox (resolved False), categorise the rest together, run their
        handlers into units of work; an event whose handler fails is resolved with its error."""
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
        prepared = _Prepared(batch)
        for item in fresh:
            try:
                unit = await self._handle(item)
            except Exception as exc:
                item.done.set_exception(exc)
                continue
            prepared.units.append((item, unit))
            prepared.combined.merge(unit)
        return prepared

    async def _commit_batch(self, prepared: "_Prepared") -> None:
        """One commit for the batch; if it fails, event by event. Never raises: outcomes go to the futures."""
        try:
            if not prepared.units:
                return
            try:
                await self.store.commit(prepared.combined)
            except Exception as exc:
                log.warning("inbox batch failed, applying one by one", size=len(prepared.units), error=str(exc)[:200])
                for item, unit in prepared.units:
                    await self._commit_one(item, unit)
                return
            for item, _ in prepared.units:
                item.done.set_result(True)
        except Exception as exc:  # keep batching
            _crashed(prepared.batch, exc)

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


@dataclass
class _Prepared:
    batch: list[_Pending]
    units: list[tuple[_Pending, Unit]] = field(default_factory=list)
    combined: Unit = field(default_factory=Unit)


def _crashed(batch: list[_Pending], exc: BaseException) -> None:
    log.error("inbox batch crashed", error=repr(exc)[:300])
    for item in batch:
        if not item.done.done():
            item.done.set_exception(exc)


def _ids(recorded: str | list[str]) -> list[str]:
    """An inbox document records the ids of one commit (older ones a single id)."""
    return [recorded] if isinstance(recorded, str) else recorded
