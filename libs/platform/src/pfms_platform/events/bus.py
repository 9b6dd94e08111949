"""One robust AMQP connection per process; topology declared in code (and exported for deploy/)."""

import asyncio
from typing import Any

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from pfms_contracts import EXCHANGES
from pfms_platform.logging import get_logger

log = get_logger(__name__)

DLX = "pfms.dlx"
DELIVERY_LIMIT = 5


def queue_arguments(queue: str) -> dict[str, Any]:
    """Quorum queue whose poison messages are parked in `<queue>.dlq` after DELIVERY_LIMIT tries."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DLX,
        "x-dead-letter-routing-key": queue,
    }


class Bus:
    def __init__(self, url: str, service: str) -> None:
        self.url = url
        self.service = service
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._connected = asyncio.Event()

    async def connect(self, *, retry_seconds: float = 1.0) -> None:
        """Connect (retrying until the broker is up) and declare the exchanges."""
        while self.connection is None:
            try:
                self.connection = await aio_pika.connect_robust(
                    self.url, client_properties={"connection_name": self.service}
                )
            except (OSError, aio_pika.exceptions.AMQPError) as exc:
                log.warning("broker unreachable, retrying", error=str(exc)[:200])
                await asyncio.sleep(retry_seconds)
        self._channel = await self.connection.channel(publisher_confirms=True)
        for name in EXCHANGES:
            self._exchanges[name] = await self._channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=True
            )
        await self._channel.declare_exchange(DLX, aio_pika.ExchangeType.DIRECT, durable=True)
        self._connected.set()

    @property
    def ready(self) -> bool:
        return self.connection is not None and not self.connection.is_closed and self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def publish(self, exchange: str, routing_key: str, payload: dict[str, Any], *, message_id: str) -> None:
        """Publish persistently and wait for the broker's confirm (raises if it nacks or is gone)."""
        if not self._connected.is_set():
            raise ConnectionError("broker not connected")
        await self._exchanges[exchange].publish(
            aio_pika.Message(
                orjson.dumps(payload),
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message_id,
                type=routing_key,
            ),
            routing_key=routing_key,
            timeout=10,
        )

    async def channel(self, prefetch: int = 32) -> AbstractChannel:
        assert self.connection is not None
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        return channel

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
