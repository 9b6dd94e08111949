"""Moves service tests make around a running service: deliver an event as a producer would, wait."""

import asyncio
from collections.abc import Awaitable, Callable

import aio_pika

from pfms_contracts import CloudEvent, EventData


async def publish_event(amqp_url: str, data: EventData, *, source: str, event: CloudEvent | None = None) -> CloudEvent:
    """Publish a CloudEvent the way a producer's relay does: on its exchange, routed by its type."""
    event = event or CloudEvent.wrap(source, data)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(data.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await exchange.publish(
            aio_pika.Message(
                event.model_dump_json().encode(),
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=event.id,
                type=event.type,
            ),
            routing_key=event.type,
        )
    return event


async def until(check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
    """Poll `check` until it holds: event delivery is asynchronous."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
