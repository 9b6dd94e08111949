"""Benchmark: 10,000 in-app notifications delivered from events (target: < 10 s).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh notification database
and runs the real service app in this process (lifespan, intake, dispatcher, live hub), then:

- `events_10k`: 10,000 `notification.requested` events for 10,000 people (known to the service,
  in-app only) wait on the service's queue, published as a producer's relay would (a burst of
  alerts after an outage, or a mass notice); timed from the moment the intake starts consuming
  until the 10,000th notification is stored (publishing is timed apart);
- `group_fanout_10k`: one `group.expense.created` with 10,000 shares, timed from publish until the
  9,999 members other than the one who added it each have their notification.

Writes bench/results/notification.json. Usage: `uv run python bench/notification_fanout.py [--no-save]`.
"""

import asyncio
import os
import time
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import aio_pika
from asgi_lifespan import LifespanManager
from harness import arguments, database, load_average, measured_at, servers, write_results
from sqlalchemy import func, insert, select

from pfms_contracts import EXCHANGES, CloudEvent, EventData
from pfms_contracts.group import GroupExpenseCreated, MemberAmount
from pfms_contracts.notification import NotificationRequested
from pfms_notification.events import HANDLERS
from pfms_notification.main import create
from pfms_notification.models import Notification, Recipient
from pfms_notification.settings import Settings
from pfms_platform.events.consumer import Consumer

PEOPLE = 10_000
TARGET_SECONDS = 10.0
DEADLINE_SECONDS = 300


async def publish_all(amqp_url: str, events: list[EventData]) -> None:
    """Publish persistently with publisher confirms, many in flight, like the outbox relay."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(events[0].exchange, aio_pika.ExchangeType.TOPIC, durable=True)

        async def one(data: EventData) -> None:
            event = CloudEvent.wrap("bench", data)
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

        for start in range(0, len(events), 500):
            await asyncio.gather(*(one(e) for e in events[start : start + 500]))


async def stored(app: Any, where: Any = None) -> int:
    async with app.state.db.sessions() as session:
        query = select(func.count()).select_from(Notification)
        return int(await session.scalar(query.where(where) if where is not None else query) or 0)


async def wait_count(app: Any, n: int, where: Any = None) -> float:
    started = time.perf_counter()
    while await stored(app, where) < n:
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def measure(settings: Settings) -> dict[str, Any]:
    people = [uuid.uuid4() for _ in range(PEOPLE)]
    events = [
        NotificationRequested(user_id=p, category="system", title="Statement ready", message=f"Item {i}")
        for i, p in enumerate(people)
    ]
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in EXCHANGES:
            await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        await Consumer(None, None, settings.service_name, HANDLERS).declare(channel)
    started = time.perf_counter()
    await publish_all(settings.amqp_url, events)
    published = time.perf_counter() - started

    app = create(settings.model_copy(update={"consumers_enabled": False}))
    async with (
        LifespanManager(app, startup_timeout=60, shutdown_timeout=60),
        app.state.db.sessions() as session,
        session.begin(),
    ):
        await session.execute(insert(Recipient), [{"user_id": p, "timezone": "Europe/Paris"} for p in people])
    app = create(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        while getattr(app.state, "consumer", None) is None:
            await asyncio.sleep(0.01)
        await app.state.consumer.ready.wait()
        started = time.perf_counter()
        await wait_count(app, PEOPLE)
        events_seconds = time.perf_counter() - started

        adder = people[0]
        share = Decimal("1.00")
        expense = GroupExpenseCreated(
            user_id=adder,
            group_id=uuid.uuid4(),
            expense_id=uuid.uuid4(),
            description="Festival tickets",
            expense_date=date.today(),
            amount=share * PEOPLE,
            currency="EUR",
            group_currency="EUR",
            fx_rate=Decimal(1),
            group_amount=share * PEOPLE,
            split_type="equal",
            shares=[MemberAmount(user_id=p, amount=share) for p in people],
            payers=[MemberAmount(user_id=adder, amount=share * PEOPLE)],
        )
        started = time.perf_counter()
        await publish_all(settings.amqp_url, [expense])
        await wait_count(app, PEOPLE - 1, Notification.key == "group.expense.created")
        fanout_seconds = time.perf_counter() - started
    return {
        "events_10k": {
            "notifications": PEOPLE,
            "seconds": round(events_seconds, 2),
            "publish_seconds": round(published, 2),
            "per_second": round(PEOPLE / events_seconds),
        },
        "group_fanout_10k": {
            "notifications": PEOPLE - 1,
            "seconds": round(fanout_seconds, 2),
            "per_second": round((PEOPLE - 1) / fanout_seconds),
        },
    }


def main(save: bool) -> None:
    with servers("notification") as run:
        settings = Settings(
            environment="test",
            database_url=database(run.stack, "notification"),
            amqp_url=run.stack.rabbitmq.url(),
            redis_url=run.stack.redis.url(1),
            jwks_url=run.keys.url,
            smtp_host=run.stack.smtp.host,
            smtp_port=run.stack.smtp.port,
        )
        load_before = load_average()
        timings = asyncio.run(asyncio.wait_for(measure(settings), DEADLINE_SECONDS))
        load_after = load_average()
    result = {
        "benchmark": "notification fan-out: 10,000 in-app notifications from events",
        "target_seconds": TARGET_SECONDS,
        "met": all(t["seconds"] < TARGET_SECONDS for t in timings.values()),
        **timings,
        "batch_size": settings.intake_batch_size,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
        "measured_at": measured_at(),
    }
    write_results("notification", result, save=save)


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
