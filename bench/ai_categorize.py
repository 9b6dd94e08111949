"""Benchmark: categorisation at the ai service (targets: p95 < 10 ms per expense over HTTP; 10,000
`expense.created` events turned into `expense.categorized` in < 20 s).

Starts its own RabbitMQ, Redis and MongoDB-wire server (secantusdb) on loopback, runs the real service
(`pfms-ai serve`, uvicorn) as a separate process, then measures:

- `http_categorize`: `POST /api/v1/ai/categorize` round trips (client side), one expense each, over
  realistic card-statement descriptions of a user with no history (global model);
- `in_process_predict`: the global model alone (features, scores, softmax) in this process;
- `events`: 10,000 uncategorised `expense.created` for 100 users published to the bus (publisher
  confirms) while a queue bound to `expense.categorized` counts what the service publishes; the clock
  runs from the first publish until every event is in the service's inbox and every prediction it
  made above the threshold has arrived as `expense.categorized`.

Writes bench/results/ai.json. Usage: `uv run python bench/ai_categorize.py`.
"""

import asyncio
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from motor.motor_asyncio import AsyncIOMotorClient

from pfms_ai import categorize, categorizer
from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseCategorized, ExpenseCreated
from pfms_devservers import Stack, free_port
from pfms_platform.testing.keys import TestKeys

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "ai.json"
DESCRIPTIONS = ROOT.parent / "services" / "ai" / "tests" / "files" / "categorisation_test_set.csv"
HTTP_RUNS = 1000
WARMUP = 50
EVENTS = 10_000
USERS = 100
P95_TARGET_MS = 10.0
EVENTS_TARGET_SECONDS = 20.0
DEADLINE_SECONDS = 600


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
    }


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
    return percentiles(samples)


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
    return percentiles(samples)


async def time_events(amqp_url: str, mongo_url: str, database: str) -> dict[str, Any]:
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
    received = 0
    async with connection:
        listen = await connection.channel()
        await listen.set_qos(prefetch_count=1000)
        tap = await listen.declare_queue(exclusive=True, auto_delete=True)
        await tap.bind(ExpenseCategorized.exchange, routing_key=ExpenseCategorized.type)

        async def count(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            received += 1
            await message.ack()

        await tap.consume(count)
        publish = await connection.channel(publisher_confirms=True)
        exchange = await publish.get_exchange(ExpenseCreated.exchange)
        mongo: AsyncIOMotorClient[Any] = AsyncIOMotorClient(mongo_url)
        db = mongo[database]
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
        while True:
            applied = await db.inbox.count_documents({"consumer": "ai"})
            confident = await db.expenses.count_documents({"prediction.published": True})
            if applied >= EVENTS and received >= confident:
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        mongo.close()
    return {
        "events_in": EVENTS,
        "users": USERS,
        "categorized_out": received,
        "below_threshold": EVENTS - confident,
        "published_all_in_seconds": round(published_in, 2),
        "seconds": round(elapsed, 2),
        "events_per_second": round(EVENTS / elapsed, 1),
        "target_seconds": EVENTS_TARGET_SECONDS,
        "met": elapsed < EVENTS_TARGET_SECONDS,
    }


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "the ai service exited during start-up"
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("ai service not ready")


async def measure(stack: Stack, port: int, keys: TestKeys, database: str, process: subprocess.Popen[bytes]) -> Any:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        await wait_ready(client, process)
        http = await time_http(client, keys)
    events = await time_events(stack.rabbitmq.url(), stack.mongo.url(), database)
    return http, events


def main() -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    stack = Stack.create(Path(tempfile.mkdtemp(prefix="pfms-bench-ai-")), fast=True)
    stack.start()
    keys = TestKeys()
    jwks = keys.serve()
    process: subprocess.Popen[bytes] | None = None
    database = "bench_ai"
    try:
        port = free_port()
        env = {
            **os.environ,
            "PFMS_AI_MONGO_URL": stack.mongo.url(),
            "PFMS_AI_MONGO_DATABASE": database,
            "PFMS_AI_AMQP_URL": stack.rabbitmq.url(),
            "PFMS_AI_REDIS_URL": stack.redis.url(1),
            "PFMS_AI_JWKS_URL": jwks,
            "PFMS_AI_PORT": str(port),
            "PFMS_AI_USER_RATE_LIMIT_PER_MINUTE": "0",
            "PFMS_AI_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "pfms-ai"), "serve"], env=env, stdout=subprocess.DEVNULL
        )
        load_before = os.getloadavg()
        predict = in_process()
        http, events = asyncio.run(asyncio.wait_for(measure(stack, port, keys, database, process), DEADLINE_SECONDS))
        load_after = os.getloadavg()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        keys.close()
        stack.stop()
    results = {
        "service": "ai",
        "benchmark": "bench/ai_categorize.py",
        "http_categorize": {**http, "target_p95_ms": P95_TARGET_MS, "met": http["p95_ms"] < P95_TARGET_MS},
        "in_process_predict": predict,
        "events": events,
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
        "cpus": os.cpu_count(),
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
