"""The dead-letter queue of a service: how deep it is, and putting its messages back after a fix.

A message lands in `<service>.events.dlq` when it is not a CloudEvent at all (rejected at once) or
its handler failed DELIVERY_LIMIT times (RabbitMQ dead-letters it). Once the handler is fixed and
deployed, `pfms-<service> dlq-replay` moves the parked messages back onto the service's own queue
(through the default exchange, so only the consumer that failed sees them again; the others had
applied them). The inbox makes a replay safe to repeat: an event already applied is skipped.
"""

import aio_pika

from pfms_platform.events.consumer import queue_name
from pfms_platform.logging import get_logger

log = get_logger(__name__)

_BROKER_HEADERS = frozenset(
    {
        "x-death",
        "x-delivery-count",
        *(f"x-{when}-death-{what}" for when in ("first", "last") for what in ("exchange", "queue", "reason")),
    }
)
"""What RabbitMQ added while the message was failing: a replayed message starts its count afresh."""


def dead_letter_queue(service: str) -> str:
    return f"{queue_name(service)}.dlq"


async def replay(amqp_url: str, service: str, limit: int | None = None) -> int:
    """Move up to `limit` parked messages (all, if None) back onto the service's queue, oldest first.

    All of them are taken (unacked) before any goes back, so one that fails again and is parked anew
    is not picked up a second time by this run. Each is published with confirms before its parked
    copy is acked: a crash in between leaves a duplicate (which the inbox skips), never a loss.
    Returns how many were moved."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        parked = await channel.declare_queue(dead_letter_queue(service), passive=True)
        taken: list[aio_pika.abc.AbstractIncomingMessage] = []
        while limit is None or len(taken) < limit:
            message = await parked.get(fail=False, no_ack=False)
            if message is None:
                break
            taken.append(message)
        for message in taken:
            headers = {k: v for k, v in (message.headers or {}).items() if k not in _BROKER_HEADERS}
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                ),
                routing_key=queue_name(service),
            )
            await message.ack()
    log.info("dead letters replayed", service=service, moved=len(taken))
    return len(taken)
