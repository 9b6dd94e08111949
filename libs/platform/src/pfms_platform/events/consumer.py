"""Consuming side: one durable quorum queue per service, handlers applied once per event id."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from opentelemetry.trace import SpanKind
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


def queue_name(service: str) -> str:
    return f"{service}.events"


def bindings(handlers: dict[str, Handler]) -> list[tuple[str, str]]:
    """(exchange, routing key) pairs a service's queue is bound to."""
    return [(event_model(t).exchange, t) for t in sorted(handlers)]


def backoff_seconds(delivery_count: int) -> float:
    return float(min(0.2 * 2**delivery_count, 5.0))


class Consumer:
    def __init__(self, db: Database, bus: Bus, service: str, handlers: dict[str, Handler]) -> None:
        self.db = db
        self.bus = bus
        self.service = service
        self.handlers = handlers
        self.queue = queue_name(service)
        self.ready = asyncio.Event()

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

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            event = CloudEvent.model_validate_json(message.body)
            data = event_model(event.type).model_validate(event.data) if event.type in self.handlers else None
        except (ValidationError, KeyError) as exc:
            log.error("poison event parked", queue=self.queue, error=str(exc)[:300])
            EVENTS_CONSUMED.labels(self.service, message.type or "unknown", "rejected").inc()
            await message.reject(requeue=False)
            return
        if data is None:
            await message.ack()
            return
        token = correlation_id.set(event.correlationid)
        try:
            with causation.handling(event), self._traced(message, event):
                applied = await self.apply(event, data)
            await message.ack()
            EVENTS_CONSUMED.labels(self.service, event.type, "applied" if applied else "duplicate").inc()
        except Exception as exc:
            attempt = int(str((message.headers or {}).get("x-delivery-count", 0) or 0))
            log.warning("event handler failed", type=event.type, id=event.id, attempt=attempt, error=str(exc)[:300])
            # past the queue's x-delivery-limit, this nack has the broker park the event in the dead-letter queue
            outcome = "dead_lettered" if attempt >= DELIVERY_LIMIT else "failed"
            EVENTS_CONSUMED.labels(self.service, event.type, outcome).inc()
            await asyncio.sleep(backoff_seconds(attempt))
            await message.nack(requeue=True)
        finally:
            correlation_id.reset(token)

    def _traced(self, message: AbstractIncomingMessage, event: CloudEvent) -> contextlib.AbstractContextManager[None]:
        """The CONSUMER span around the handler, child of the emitter's context from the envelope, so
        what the handler emits carries this span onwards (pfms_platform.tracing)."""
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
        """The bus's watchers of this event type see it first (before the handler, whatever the
        subclass does with the message: `create_app`'s list of deleted users); a watcher never holds it up."""
        # the event type: the `type` property (kept when a parked message is replayed), else the routing key
        watchers = self.bus.watchers.get(message.type or message.routing_key or "", ())
        if watchers:
            try:
                event = CloudEvent.model_validate_json(message.body)
                for watcher in watchers:
                    await watcher(event)
            except Exception as exc:
                log.warning("event watcher failed", type=message.routing_key, error=str(exc)[:200])
        await self.on_message(message)

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
        await self.subscribe()
        await asyncio.Future()  # consume until cancelled; the robust channel re-subscribes after reconnects
