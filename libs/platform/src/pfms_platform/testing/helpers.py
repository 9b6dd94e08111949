"""Moves service tests make around a running service: deliver an event as a producer would, wait, serve."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aio_pika
import httpx
import uvicorn
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from pfms_contracts import CloudEvent, EventData
from pfms_devservers import free_port


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


async def metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The sum of the `name` samples a service's /metrics shows with (at least) these labels. Counters are
    process-wide, so a test compares the value before and after its action."""
    text = (await client.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def until(check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
    """Poll `check` until it holds: event delivery is asynchronous."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """Serve an already started app (its lifespan runs under `make_service`) on a loopback port, for
    another service's internal HTTP calls; yields its base URL and stops the server on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    try:
        await until(started)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
