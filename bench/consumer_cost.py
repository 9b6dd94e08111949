"""Issue 10 benchmark: what consuming one event costs the consuming process, in CPU time.

Starts its own servers and the income service as its own process (its `expense.created` handler is a
cheap, realistic one: one upsert of the expense fact and a bump of the user's projection version).
Then, publishing real CloudEvents on `financial.events` as expense's relay does:

- `burst`: `--events` `expense.created` events (for `--users` users) published back to back, so a
  backlog forms in the service's queue; from the first publish until every event is in the service's
  inbox: the consuming process's CPU time (user + system, /proc) per event and events/s.
- `lone`: `--lone` events one at a time, each published once the previous one is applied: publish →
  inbox row latency (the inbox is polled every millisecond, so each sample is late by up to that) and
  CPU per event. Batching must not make a lone event wait.

CPU time is what the process spent, however busy the machine; wall figures (events/s, latency) depend
on the load, recorded next to them. Writes bench/results/consumer.json; with `--before` the run is
recorded as the `before` figures (the one-delivery-per-transaction consumer), which later runs carry
over from that file unchanged.

    uv run python bench/consumer_cost.py [--events 5000] [--lone 200] [--before] [--no-save]
"""

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import aio_pika
import asyncpg
from harness import (
    RESULTS,
    ServiceProcess,
    arguments,
    cpu_seconds,
    database,
    load_average,
    machine,
    measured_at,
    percentiles,
    plain,
    serve,
    servers,
    write_results,
)

from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseCreated
from pfms_platform.events.consumer import queue_name

DEADLINE_SECONDS = 600
PUBLISH_WINDOW = 500


def expense_created(users: list[uuid.UUID], rng: random.Random) -> CloudEvent:
    data = ExpenseCreated(
        user_id=rng.choice(users),
        expense_id=uuid.uuid4(),
        amount=Decimal(rng.randint(100, 50000)) / 100,
        currency="USD",
        expense_date=date(2026, 11, 1) + timedelta(days=rng.randint(0, 25)),
        description="Coffee",
    )
    return CloudEvent.wrap("expense", data)


def message(event: CloudEvent) -> aio_pika.Message:
    return aio_pika.Message(
        event.model_dump_json().encode(),
        content_type="application/cloudevents+json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event.id,
        type=event.type,
    )


async def applied(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'income'"))


async def burst(
    exchange: aio_pika.abc.AbstractExchange, pool: asyncpg.Pool, pid: int, events: list[CloudEvent]
) -> dict[str, Any]:
    """Publish every event (confirmed, a window at a time) and wait until all of them are applied."""
    before = await applied(pool)
    cpu, start = cpu_seconds(pid), time.perf_counter()
    for at in range(0, len(events), PUBLISH_WINDOW):
        window = events[at : at + PUBLISH_WINDOW]
        await asyncio.gather(*(exchange.publish(message(e), routing_key=e.type) for e in window))
    published = time.perf_counter() - start
    while await applied(pool) < before + len(events):
        await asyncio.sleep(0.02)
    seconds = time.perf_counter() - start
    spent = cpu_seconds(pid) - cpu
    return {
        "events": len(events),
        "published_in_seconds": round(published, 2),
        "seconds": round(seconds, 2),
        "events_per_second": round(len(events) / seconds, 1),
        "cpu_ms_per_event": round(spent * 1000 / len(events), 3),
    }


async def lone(
    exchange: aio_pika.abc.AbstractExchange, pool: asyncpg.Pool, pid: int, events: list[CloudEvent]
) -> dict[str, Any]:
    """One event at a time, the next published once the previous one is in the inbox."""
    samples: list[float] = []
    cpu = cpu_seconds(pid)
    for event in events:
        start = time.perf_counter()
        await exchange.publish(message(event), routing_key=event.type)
        while not await pool.fetchval("SELECT 1 FROM inbox WHERE event_id = $1", event.id):
            await asyncio.sleep(0.001)
        samples.append((time.perf_counter() - start) * 1000)
    spent = cpu_seconds(pid) - cpu
    return {
        "publish_to_applied": percentiles(samples),
        "cpu_ms_per_event": round(spent * 1000 / len(events), 3),
    }


async def measure(amqp_url: str, dsn: str, service: ServiceProcess, count: int, lone_count: int, users: int) -> dict:
    await service.ready()
    rng = random.Random(10)
    people = [uuid.uuid4() for _ in range(users)]
    connection = await aio_pika.connect_robust(amqp_url)
    pool = await asyncpg.create_pool(plain(dsn), min_size=1, max_size=2)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(ExpenseCreated.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        await channel.declare_queue(queue_name("income"), passive=True)  # the service's consumer is bound
        await lone(exchange, pool, service.pid, [expense_created(people, rng) for _ in range(20)])  # warm-up
        await burst(exchange, pool, service.pid, [expense_created(people, rng) for _ in range(500)])  # warm-up
        return {
            "burst": await burst(exchange, pool, service.pid, [expense_created(people, rng) for _ in range(count)]),
            "lone": await lone(exchange, pool, service.pid, [expense_created(people, rng) for _ in range(lone_count)]),
        }
    finally:
        await pool.close()
        await connection.close()


def main(options: argparse.Namespace) -> dict[str, Any]:
    with servers("consumer") as run:
        dsn = database(run.stack, "income")
        with serve("income", run, database_url=dsn) as service:
            load_before = load_average()
            work = measure(run.stack.rabbitmq.url("/"), dsn, service, options.events, options.lone, options.users)
            figures = asyncio.run(asyncio.wait_for(work, DEADLINE_SECONDS))
    run_figures = {"measured_at": measured_at(), "machine": machine(load_before), **figures}
    saved = RESULTS / "consumer.json"
    earlier = json.loads(saved.read_text()).get("before") if saved.exists() else None
    result = {
        "benchmark": "platform consumer: income consuming expense.created",
        "data": {"events": options.events, "lone_events": options.lone, "users": options.users},
        **run_figures,
        "before": run_figures if options.before else earlier,
    }
    write_results("consumer", result, save=not options.no_save)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--lone", type=int, default=200)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--before", action="store_true", help="record this run as the before figures")
    main(arguments(__doc__, parser))
