"""One robust AMQP connection per process; topology declared in code (and exported for deploy/)."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import aio_pika
import aiormq
import orjson
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aiormq.abc import ChannelFrame
from opentelemetry.trace import SpanKind, Tracer
from pamqp.body import ContentBody
from pamqp.header import ContentHeader
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from pfms_contracts import EXCHANGES, CloudEvent
from pfms_platform.logging import get_logger
from pfms_platform.tracing import messaging_span

log = get_logger(__name__)

DLX = "pfms.dlx"
DELIVERY_LIMIT = 5

BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    aio_pika.exceptions.AMQPError,
    aiormq.exceptions.ChannelInvalidStateError,
)
"""What a booting, restarting or overloaded broker answers with (a refused socket, a closed channel,
a quorum queue declare that timed out): worth another try, unlike a bug in our own code."""


def broker_retries(step: str) -> AsyncRetrying:
    """Retry `step` forever with capped, jittered backoff, logging each refusal: a broker that is not
    ready yet must delay a service's publishing or consuming, never end it for the life of the process."""

    def refused(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("broker refused, retrying", step=step, attempt=state.attempt_number, error=str(error)[:200])

    return AsyncRetrying(
        retry=retry_if_exception_type(BROKER_ERRORS),
        wait=wait_exponential_jitter(multiplier=0.5, max=5, jitter=0.5),
        before_sleep=refused,
        reraise=True,
    )


def queue_arguments(queue: str) -> dict[str, Any]:
    """Quorum queue whose poison messages are parked in `<queue>.dlq` after DELIVERY_LIMIT tries."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DLX,
        "x-dead-letter-routing-key": queue,
    }


Watcher = Callable[[CloudEvent], Awaitable[None]]

CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An envelope ready to leave as it is stored: its JSON bytes, and the few fields publishing reads
    (`trace`: its traceparent/tracestate/source, for the PRODUCER span)."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    trace: Mapping[str, Any]


class Bus:
    def __init__(self, url: str, service: str, tracer: Tracer | None = None) -> None:
        self.url = url
        self.service = service
        self.tracer = tracer  # publish and process spans when tracing is on (pfms_platform.tracing)
        self.watchers: dict[str, list[Watcher]] = {}
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._connected = asyncio.Event()

    async def connect(self) -> None:
        """Connect and declare the exchanges, retrying both until the broker takes them."""
        async for attempt in broker_retries("connect"):
            with attempt:
                if self.connection is None:
                    self.connection = await aio_pika.connect_robust(
                        self.url, client_properties={"connection_name": self.service}
                    )
                self._channel = await self.connection.channel(publisher_confirms=True)
                for name in EXCHANGES:
                    self._exchanges[name] = await self._channel.declare_exchange(
                        name, aio_pika.ExchangeType.TOPIC, durable=True
                    )
                await self._channel.declare_exchange(DLX, aio_pika.ExchangeType.DIRECT, durable=True)
        self._connected.set()

    def watch(self, event_type: str, watcher: Watcher) -> None:
        """Show `watcher` every `event_type` event any consumer on this bus receives, before its handler."""
        self.watchers.setdefault(event_type, []).append(watcher)

    @property
    def ready(self) -> bool:
        return self.connection is not None and not self.connection.is_closed and self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def publish(self, exchange: str, routing_key: str, payload: dict[str, Any], *, message_id: str) -> None:
        """Publish persistently and wait for the broker's confirm (raises if it nacks or is gone)."""
        if not self._connected.is_set():
            raise ConnectionError("broker not connected")
        with messaging_span(
            self.tracer,
            SpanKind.PRODUCER,
            payload,
            exchange=exchange,
            routing_key=routing_key,
            event_id=message_id,
            source=payload.get("source"),
        ):
            await self._exchanges[exchange].publish(
                aio_pika.Message(
                    orjson.dumps(payload),
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message_id,
                    type=routing_key,
                ),
                routing_key=routing_key,
                timeout=10,
            )

    async def send_many(self, messages: Sequence[Outgoing]) -> asyncio.Future[list[BaseException | None]]:
        """Hand `messages` to the confirm channel in this order and return at once; the future gives each
        one's outcome: None once the broker confirmed it, else the error (a nack, a timeout, no broker).

        The relay's path: the body is sent as it is (no parse and dump), without aio-pika's message objects,
        and publishes queued later on the channel (the relay's next batch) go out after these.
        """
        try:
            if not self._connected.is_set() or self._channel is None:
                raise ConnectionError("broker not connected")
            wire = cast(aiormq.Channel, await self._channel.get_underlay_channel())
            if self.tracer is not None:  # a PRODUCER span per message, each the child of its envelope's context
                return asyncio.gather(*(self._send(wire, m) for m in messages), return_exceptions=True)
            return asyncio.ensure_future(_outcomes(await _publish_together(wire, messages)))
        except BROKER_ERRORS as exc:
            refused: asyncio.Future[list[BaseException | None]] = asyncio.get_running_loop().create_future()
            refused.set_result([exc] * len(messages))
            return refused

    async def _send(self, wire: aiormq.Channel, message: Outgoing) -> None:
        with messaging_span(
            self.tracer,
            SpanKind.PRODUCER,
            message.trace,
            exchange=message.exchange,
            routing_key=message.routing_key,
            event_id=message.message_id,
            source=message.trace.get("source"),
        ):
            await wire.basic_publish(
                message.body,
                exchange=message.exchange,
                routing_key=message.routing_key,
                properties=aiormq.spec.Basic.Properties(
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value,
                    message_id=message.message_id,
                    message_type=message.routing_key,
                ),
                timeout=10,
                wait=False,  # no drain per message: the confirm is what we wait for
            )

    async def channel(self, prefetch: int = 32) -> AbstractChannel:
        assert self.connection is not None
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


PUBLISH_TIMEOUT = 10.0


async def _publish_together(wire: aiormq.Channel, messages: Sequence[Outgoing]) -> list[asyncio.Future[Any]]:
    """Write `messages` to the channel as one write (one syscall, one broker read, instead of one per
    message) and return their confirmations. What aiormq's `basic_publish` does per message, for a
    batch: delivery tags taken under the channel's lock in the order the frames go out; a channel
    that closes rejects the confirmations still pending."""
    frames: list[Any] = []
    for m in messages:
        frames.append(aiormq.spec.Basic.Publish(exchange=m.exchange, routing_key=m.routing_key))
        frames.append(
            ContentHeader(
                properties=aiormq.spec.Basic.Properties(
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT.value,
                    message_id=m.message_id,
                    message_type=m.routing_key,
                ),
                body_size=len(m.body),
            )
        )
        size = wire.max_content_size
        frames.extend(ContentBody(m.body[i : i + size]) for i in range(0, len(m.body), size))
    payload = ChannelFrame.marshall(channel_number=wire.number, frames=frames)
    async with wire.lock:
        confirmations = [wire.create_future() for _ in messages]
        for confirmation in confirmations:
            wire.delivery_tag += 1
            wire.confirmations[wire.delivery_tag] = confirmation
        await wire.write_queue.put(payload)
    return confirmations


async def _outcomes(confirmations: list[asyncio.Future[Any]]) -> list[BaseException | None]:
    """None for each confirmation the broker acked, else its error (a nack, a closed channel, no answer in time)."""
    if confirmations:
        await asyncio.wait(confirmations, timeout=PUBLISH_TIMEOUT)
    outcomes: list[BaseException | None] = []
    for confirmation in confirmations:
        if not confirmation.done():
            confirmation.cancel()
            outcomes.append(TimeoutError(f"no confirm in {PUBLISH_TIMEOUT} s"))
        elif confirmation.cancelled():
            outcomes.append(asyncio.CancelledError())
        else:
            outcomes.append(confirmation.exception())
    return outcomes
