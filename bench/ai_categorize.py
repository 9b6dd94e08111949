"""Benchmark: categorisation at the ai service (targets: p95 < 10 ms per expense over HTTP; 10,000
`expense.created` events turned into `expense.categorized` in < 20 s).

Starts its own RabbitMQ, Redis and MongoDB-wire server (secantusdb) on loopback, runs the real service
(`pfms-ai serve`, uvicorn) as a separate process, then measures:

- `http_categorize`: `POST /api/v1/ai/categorize` round trips (client side), one expense each, over
  realistic card-statement descriptions of a user with no history (global model);
- `in_process_predict`: the global model alone (features, scores, softmax) in this process;
- `events`: 10,000 uncategorised `expense.created` for 100 users published to the bus (publisher
  confirms) while a queue bound to `expense.categorized` counts what the service publishes; the clock
  runs from the first publish until every event is in the service's inbox and every event in its
  outbox has arrived as `expense.categorized`. Met only in time and with each of them exactly once
  (distinct message ids = received = expenses whose published prediction the read model holds).
  `cpu_seconds`: what the service and the MongoDB-wire server processes spent meanwhile — the load-
  independent part of the figure on a shared machine.

Writes bench/results/ai.json. Usage: `uv run python bench/ai_categorize.py [--no-save]`.
"""

import asyncio
import csv
import os
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from harness import (
    ServiceProcess,
    arguments,
    cpu_seconds,
    load_average,
    machine,
    measured_at,
    percentiles,
    serve,
    servers,
    write_results,
)
from motor.motor_asyncio import AsyncIOMotorClient

from pfms_ai import categorize, categorizer
from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseCategorized, ExpenseCreated
from pfms_devservers import Stack
from pfms_platform.events.consumer import queue_name
from pfms_platform.testing.keys import TestKeys

DESCRIPTIONS = (
    Path(__file__).resolve().parents[1] / "services" / "ai" / "tests" / "files" / "categorisation_test_set.csv"
)
HTTP_RUNS = 1000
WARMUP = 50
EVENTS = 10_000
USERS = 100
P95_TARGET_MS = 10.0
EVENTS_TARGET_SECONDS = 20.0
DEADLINE_SECONDS = 600


def descriptions() -> list[str]:
    return [row["description"] for row in csv.DictReader(DESCRIPTIONS.open())]


def in_process() -> dict[str, float]:
    model = categorize._global_from_data()
    texts = descriptions()
    samples = []
    for i in range(HTTP_RUNS + WARMUP):
        started = time.perf_counter()
        model.predict(categorizer.features(f"{texts[i % len(texts)]} {i}"))
        if i >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples, digits=3)


async def time_http(client: httpx.AsyncClient, keys: TestKeys) -> dict[str, float]:
    texts = descriptions()
    headers = keys.auth(uuid.uuid4(), ttl=3600)
    samples = []
    for i in range(HTTP_RUNS + WARMUP):
        body = {"description": f"{texts[i % len(texts)]} {i}", "amount": f"{5 + i % 90}.99", "currency": "USD"}
        started = time.perf_counter()
        response = await client.post("/api/v1/ai/categorize", json=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        if i >= WARMUP:
            samples.append(elapsed)
    return percentiles(samples, digits=3)


async def time_events(amqp_url: str, mongo_url: str, database: str, pids: dict[str, int]) -> dict[str, Any]:
    texts = descriptions()
    users = [uuid.uuid4() for _ in range(USERS)]
    bodies = []
    for i in range(EVENTS):
        data = ExpenseCreated(
            user_id=users[i % USERS],
            expense_id=uuid.uuid4(),
            amount=Decimal(f"{3 + i % 200}.45"),
            currency="USD",
            expense_date=date(2026, 1 + i % 12, 1 + i % 28),
            description=f"{texts[i % len(texts)]} {i % 977}",
        )
        bodies.append((data.type, CloudEvent.wrap("bench", data).model_dump_json().encode()))
    connection = await aio_pika.connect_robust(amqp_url)
    received: list[str | None] = []
    async with connection:
        listen = await connection.channel()
        await listen.set_qos(prefetch_count=1000)
        tap = await listen.declare_queue(exclusive=True, auto_delete=True)
        await tap.bind(ExpenseCategorized.exchange, routing_key=ExpenseCategorized.type)

        async def count(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.append(message.message_id)
            await message.ack()

        await tap.consume(count)
        publish = await connection.channel(publisher_confirms=True)
        exchange = await publish.get_exchange(ExpenseCreated.exchange)
        mongo: AsyncIOMotorClient[Any] = AsyncIOMotorClient(mongo_url)
        db = mongo[database]

        async def recorded(collection: str, field: str, ids: str) -> int:
            """Events in the inbox or the outbox: one document per commit, its events in a list (a few
            dozen documents to read, only their ids, where counting 10,000 per-event documents scanned
            them all)."""
            return sum([len(d[field]) async for d in db[collection].find({}, {ids: 1})])

        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        for chunk in range(0, EVENTS, 500):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, type=key),
                        routing_key=key,
                    )
                    for key, body in bodies[chunk : chunk + 500]
                )
            )
        published_in = time.perf_counter() - started
        queue = await listen.declare_queue(queue_name("ai"), passive=True)
        while (await queue.declare()).message_count:
            await asyncio.sleep(0.1)
        while await recorded("inbox", "event_id", "event_id") < EVENTS:  # a fresh database: only these events
            await asyncio.sleep(0.1)
        emitted = await recorded("outbox", "events", "events._id")
        while len(received) < emitted:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()}
        await asyncio.sleep(1)  # a duplicate would arrive now
        confident = await db.expenses.count_documents({"prediction.published": True})
        mongo.close()
    return {
        "events_in": EVENTS,
        "users": USERS,
        "categorized_out": len(received),
        "distinct_out": len(set(received)),
        "predictions_published": confident,
        "below_threshold": EVENTS - confident,
        "published_all_in_seconds": round(published_in, 2),
        "seconds": round(elapsed, 2),
        "events_per_second": round(EVENTS / elapsed, 1),
        "cpu_seconds": cpu,
        "target_seconds": EVENTS_TARGET_SECONDS,
        "met": elapsed < EVENTS_TARGET_SECONDS and len(received) == len(set(received)) == confident,
    }


async def measure(stack: Stack, process: ServiceProcess, keys: TestKeys, database: str) -> Any:
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        await process.ready(timeout=90)
        http = await time_http(client, keys)
    assert stack.mongo.proc is not None
    pids = {"ai_service": process.pid, "mongo_wire_server": stack.mongo.proc.pid}
    events = await time_events(stack.rabbitmq.url(), stack.mongo.url(), database, pids)
    return http, events


def main(save: bool) -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    database = "bench_ai"
    with servers("ai") as run:
        env = {"MONGO_URL": run.stack.mongo.url(), "MONGO_DATABASE": database}
        with serve("ai", run, env=env) as service:
            load_before = load_average()
            predict = in_process()
            work = measure(run.stack, service, run.keys, database)
            http, events = asyncio.run(asyncio.wait_for(work, DEADLINE_SECONDS))
            load_after = load_average()
    results = {
        "service": "ai",
        "benchmark": "bench/ai_categorize.py",
        "measured_at": measured_at(),
        "machine": machine(),
        "http_categorize": {**http, "target_p95_ms": P95_TARGET_MS, "met": http["p95_ms"] < P95_TARGET_MS},
        "in_process_predict": predict,
        "events": events,
        "load_average": {"before": load_before, "after": load_after},
        "cpus": os.cpu_count(),
    }
    write_results("ai", results, save=save)
    return results


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
