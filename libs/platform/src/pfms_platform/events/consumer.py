"""Consuming side: one durable quorum queue per service, handlers applied once per event id.

Deliveries that are already waiting are applied together: one inbox insert for all of them, each
fresh event's handler in arrival order in the same session, one commit, then their acks. Under load a
queue's backlog costs one transaction per batch instead of one per event; an event that arrives alone
is applied at once, as before (there is no linger by default). A batch that fails for any reason is
rolled back and each of its events applied alone, with today's retries, backoff and dead-lettering.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, NamedTuple

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from opentelemetry.trace import SpanKind
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts import CloudEvent, EventData, event_model
from pfms_platform import tracing
from pfms_platform.db import Database
from pfms_platform.events import causation
from pfms_platform.events.bus import DELIVERY_LIMIT, DLX, Bus, broker_retries, queue_arguments
from pfms_platform.events.tables import InboxEvent
from pfms_platform.logging import correlation_id, get_logger
from pfms_platform.metrics import EVENTS_CONSUMED

log = get_logger(__name__)

Handler = Callable[[AsyncSession, Any], Awaitable[None]]
"""An event handler: gets the unit of work and the typed event data; must not commit."""


class Delivery(NamedTuple):
    """A parsed delivery waiting to be applied."""

    message: AbstractIncomingMessage
    event: CloudEvent
    data: EventData


def queue_name(service: str) -> str:
    return f"{service}.events"


def bindings(handlers: dict[str, Handler]) -> list[tuple[str, str]]:
    """(exchange, routing key) pairs a service's queue is bound to."""
    return [(event_model(t).exchange, t) for t in sorted(handlers)]


def backoff_seconds(delivery_count: int) -> float:
    return float(min(0.2 * 2**delivery_count, 5.0))


@cache
def consumed(service: str, event_type: str, outcome: str) -> Counter:
    """The `events_consumed_total` child of these labels, looked up once (a label lookup per event is waste)."""
    return EVENTS_CONSUMED.labels(service, event_type, outcome)


class Consumer:
    batch_limit = 100
    """At most this many waiting deliveries are applied in one transaction."""
    linger_seconds = 0.0
    """How long a batch may wait for more deliveries after its first (0: it takes only what is there)."""
    _batching: asyncio.Task[None] | None = None

    def __init__(self, db: Database, bus: Bus, service: str, handlers: dict[str, Handler]) -> None:
        self.db = db
        self.bus = bus
        self.service = service
        self.handlers = handlers
        self.queue = queue_name(service)
        self.ready = asyncio.Event()
        self._waiting: list[Delivery] = []
        self._arrived = asyncio.Event()
        self._unsettled: dict[int, AbstractIncomingMessage] = {}
        """Deliveries not yet acked, nacked or rejected, in delivery order: a batch acks with one frame
        (`multiple`) only when no earlier delivery is still open."""
        self._retrying: set[asyncio.Task[None]] = set()

    async def declare(self, channel: aio_pika.abc.AbstractChannel) -> aio_pika.abc.AbstractQueue:
        dlx = await channel.declare_exchange(DLX, aio_pika.ExchangeType.DIRECT, durable=True)
        dlq = await channel.declare_queue(f"{self.queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(dlx, routing_key=self.queue)
        queue = await channel.declare_queue(self.queue, durable=True, arguments=queue_arguments(self.queue))
        for exchange, key in bindings(self.handlers):
            await queue.bind(exchange, routing_key=key)
        return queue

    async def apply(self, event: CloudEvent, data: EventData) -> bool:
        """Apply one event inside one transaction; False if this consumer had already applied it."""
        async with self.db.sessions() as session, session.begin():
            inserted = await session.execute(
                insert(InboxEvent)
                .values(consumer=self.service, event_id=event.id, event_type=event.type)
                .on_conflict_do_nothing()
                .returning(InboxEvent.event_id)
            )
            if inserted.first() is None:
                return False
            await self.handlers[event.type](session, data)
        return True

    async def apply_batch(self, batch: list[Delivery]) -> set[str]:
        """Apply every event of `batch` not seen before, in arrival order, in one transaction; returns their
        ids. An event id twice in one batch applies once."""
        async with self.db.sessions() as session, session.begin():
            inbox = InboxEvent.__table__
            service = self.service
            rows = {
                d.event.id: {"consumer": service, "event_id": d.event.id, "event_type": d.event.type} for d in batch
            }
            inserted = await session.execute(
                insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id), list(rows.values())
            )
            fresh = set(inserted.scalars().all())
            applied: set[str] = set()
            for delivery in batch:
                event = delivery.event
                if event.id not in fresh or event.id in applied:
                    continue
                applied.add(event.id)
                token = correlation_id.set(event.correlationid)
                try:
                    with causation.handling(event), self._traced(delivery.message, event):
                        await self.handlers[event.type](session, delivery.data)
                finally:
                    correlation_id.reset(token)
        return applied

    def parse(self, message: AbstractIncomingMessage, event: CloudEvent | None = None) -> Delivery | None:
        """The delivery with its typed data; None for an event type this consumer does not handle.
        Raises ValidationError or KeyError for a body that is not a valid event."""
        event = event or CloudEvent.model_validate_json(message.body)
        if event.type not in self.handlers:
            return None
        return Delivery(message, event, event_model(event.type).model_validate(event.data))

    async def on_message(self, message: AbstractIncomingMessage, event: CloudEvent | None = None) -> None:
        """Apply one delivery alone in its own transaction (`event`: its envelope, if already parsed)."""
        delivery = await self._accepted(message, event)
        if delivery is not None:
            await self._apply_alone(delivery)

    async def _accepted(self, message: AbstractIncomingMessage, event: CloudEvent | None) -> Delivery | None:
        """The delivery to apply; None once a body that is no valid event is parked, or an event type this
        consumer does not handle is acked."""
        try:
            delivery = self.parse(message, event)
        except (ValidationError, KeyError) as exc:
            await self._reject(message, exc)
            return None
        if delivery is None:
            await self._settle(message, message.ack())
        return delivery

    async def _apply_alone(self, delivery: Delivery) -> None:
        message, event, data = delivery
        token = correlation_id.set(event.correlationid)
        try:
            with causation.handling(event), self._traced(message, event):
                applied = await self.apply(event, data)
            await self._settle(message, message.ack())
            consumed(self.service, event.type, "applied" if applied else "duplicate").inc()
        except Exception as exc:
            attempt = int(str((message.headers or {}).get("x-delivery-count", 0) or 0))
            log.warning("event handler failed", type=event.type, id=event.id, attempt=attempt, error=str(exc)[:300])
            # past the queue's x-delivery-limit, this nack has the broker park the event in the dead-letter queue
            outcome = "dead_lettered" if attempt >= DELIVERY_LIMIT else "failed"
            consumed(self.service, event.type, outcome).inc()
            await self._retry_later(message, attempt)
        finally:
            correlation_id.reset(token)

    async def _retry_later(self, message: AbstractIncomingMessage, attempt: int) -> None:
        """Nack for redelivery after the backoff; while batching, without holding up the batches behind it."""

        async def later() -> None:
            await asyncio.sleep(backoff_seconds(attempt))
            try:
                await self._settle(message, message.nack(requeue=True))
            except Exception as exc:  # a closed channel: the broker redelivers it anyway
                log.warning("event nack failed", id=message.message_id, error=str(exc)[:200])

        if self._batching is None:
            await later()
            return
        task = asyncio.create_task(later())
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    async def _reject(self, message: AbstractIncomingMessage, exc: Exception) -> None:
        log.error("poison event parked", queue=self.queue, error=str(exc)[:300])
        consumed(self.service, message.type or "unknown", "rejected").inc()
        await self._settle(message, message.reject(requeue=False))

    async def _settle(self, message: AbstractIncomingMessage, settling: Awaitable[Any]) -> None:
        """Send an ack/nack/reject: the delivery is no longer open, whatever the broker answers."""
        try:
            await settling
        finally:
            if self._batching is not None:
                self._unsettled.pop(id(message), None)

    def _traced(self, message: AbstractIncomingMessage, event: CloudEvent) -> contextlib.AbstractContextManager[None]:
        """The CONSUMER span around the handler, child of the emitter's context from the envelope, so
        what the handler emits carries this span onwards (pfms_platform.tracing)."""
        if self.bus.tracer is None:
            return contextlib.nullcontext()
        return tracing.messaging_span(
            self.bus.tracer,
            SpanKind.CONSUMER,
            {"traceparent": event.traceparent, "tracestate": event.tracestate},
            exchange=message.exchange or "",
            routing_key=event.type,
            event_id=event.id,
            source=event.source,
        )

    async def _delivered(self, message: AbstractIncomingMessage) -> None:
        """Parse the envelope once; the bus's watchers of this event type see it first (before the handler,
        whatever the subclass does with the message: `create_app`'s list of deleted users; a watcher never
        holds it up); then it waits for the next batch, or is applied alone when this consumer does not batch."""
        if self._batching is not None:
            self._unsettled[id(message)] = message  # before any await: deliveries are recorded in tag order
        try:
            event = CloudEvent.model_validate_json(message.body)
        except ValidationError as exc:
            await self._reject(message, exc)
            return
        # the event type: the `type` property (kept when a parked message is replayed), else the routing key
        watchers = self.bus.watchers.get(message.type or message.routing_key or "", ())
        for watcher in watchers:
            try:
                await watcher(event)
            except Exception as exc:
                log.warning("event watcher failed", type=message.routing_key, error=str(exc)[:200])
        if self._batching is None:
            await self.on_message(message, event)
            return
        delivery = await self._accepted(message, event)
        if delivery is None:
            return
        self._waiting.append(delivery)
        self._arrived.set()

    async def _batches(self) -> None:
        """Take what is waiting (up to `batch_limit`), apply it, repeat: one batch at a time, so a batch's
        commit never races another's and deliveries arriving meanwhile make up the next one."""
        while True:
            await self._arrived.wait()
            if self.linger_seconds and len(self._waiting) < self.batch_limit:
                await self._linger()
            batch, self._waiting = self._waiting[: self.batch_limit], self._waiting[self.batch_limit :]
            if self._waiting:
                self._arrived.set()  # the linger may have cleared it
            else:
                self._arrived.clear()
            try:
                await self._handle(batch)
            except Exception as exc:  # keep consuming; unsettled deliveries come back after a reconnect
                log.error("event batch crashed", size=len(batch), error=repr(exc)[:300])

    async def _linger(self) -> None:
        """Wait for more deliveries until `linger_seconds` after the first, or until the batch is full."""
        deadline = asyncio.get_running_loop().time() + self.linger_seconds
        while len(self._waiting) < self.batch_limit:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def _handle(self, batch: list[Delivery]) -> None:
        if len(batch) == 1:
            await self._apply_alone(batch[0])
            return
        try:
            applied = await self.apply_batch(batch)
        except Exception as exc:
            log.warning("event batch failed, applying one by one", size=len(batch), error=str(exc)[:300])
            for delivery in batch:
                await self._apply_alone(delivery)
            return
        await self._ack(batch)
        for delivery in batch:
            event = delivery.event
            consumed(self.service, event.type, "applied" if event.id in applied else "duplicate").inc()
            applied.discard(event.id)  # the same event again in this batch was a duplicate

    async def _ack(self, batch: list[Delivery]) -> None:
        """One `basic.ack` with `multiple` on the batch's latest delivery when every open delivery before it
        is in the batch (delivery tags ascend on a channel; watchers may have reordered the batch), else one
        ack each. A failed ack is only a redelivery, which the inbox skips."""
        messages = [d.message for d in batch]
        remaining = {id(m) for m in messages}
        latest = messages[-1]
        for open_id, message in self._unsettled.items():
            if open_id not in remaining:
                break
            remaining.discard(open_id)
            latest = message
            if not remaining:
                break
        try:
            if not remaining and all(m.channel is latest.channel for m in messages):
                await latest.ack(multiple=True)
            else:
                for message in messages:
                    await message.ack()
        except Exception as exc:
            log.warning("event batch ack failed", size=len(batch), error=str(exc)[:200])
        finally:
            for message in messages:
                self._unsettled.pop(id(message), None)

    async def subscribe(self, prefetch: int = 32) -> None:
        """Declare the queues and start consuming, retrying until the broker takes all of it (a
        quorum queue's declare can time out on a broker still booting); then this consumer is ready."""
        await self.bus.wait_connected()
        async for attempt in broker_retries(f"subscribe {self.queue}"):
            with attempt:
                channel = await self.bus.channel(prefetch)
                try:
                    queue = await self.declare(channel)
                    await queue.consume(self._delivered)
                except Exception:  # a half-declared channel is not reused; the retry opens a fresh one
                    with contextlib.suppress(Exception):
                        await channel.close()
                    raise
        self.ready.set()

    async def run(self) -> None:
        """Consume in batches until cancelled; the robust channel re-subscribes after reconnects. The
        prefetch lets a full batch wait while the previous one commits."""
        self._batching = asyncio.create_task(self._batches(), name=f"{self.queue}-batches")
        try:
            await self.subscribe(prefetch=2 * self.batch_limit)
            await self._batching  # consume until cancelled (or the batch loop dies: the supervisor restarts us)
        finally:
            self._batching.cancel()
            for task in list(self._retrying):
                task.cancel()
            self._batching = None
