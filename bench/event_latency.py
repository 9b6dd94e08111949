"""Issue 10 benchmark: how fast events move, and what the outbox costs a write.

Starts its own servers and, as real processes started the way `make run` starts them, auth (sign-up
publishes `user.created`, from which expense makes the default categories), expense, ai and
market-data (expense's FX source). Then:

- `categorized`: one user at a time (`--users` in turn), `POST /api/v1/expenses` without a category
  (card-statement descriptions from the ai test set) at the expense service; the clock runs from the
  201 — the row and its `expense.created` outbox row are committed before the answer is sent — until
  the expense's row holds the category the ai service sent back in `expense.categorized` (relay →
  broker → ai consumer and model → ai's outbox relay → broker → expense consumer → update). The row
  is polled in PostgreSQL every `--poll-ms`, so each sample is late by up to that. ai's confidence
  threshold is set to 0 so every guess is published: the threshold decides whether a guess is sent,
  not how fast. `--warmup` samples (the first model loads) are left out. `hops_from_the_201`: when
  `expense.created` and then `expense.categorized` reached a queue of this script, to see which
  leg the time goes to.
- `relay`: `--events` `expense.created` events written with `emit_many` into an outbox table of its
  own database, then the platform's `OutboxRelay` (as every service runs it: batches of 500, see
  `--relay-batch`, up to 3 in flight; each message confirmed by the broker before its row is marked
  sent) started in this process; events/s from its start until no row is pending. The events land
  in a quorum queue bound to their routing key (as consumers' queues are), and the queue's count
  (`in_the_queue`) is read back.
- `outbox_cost`: the same write — one expense row in its own transaction, `--writers` concurrent
  transactions for `--write-seconds` — without and with its `expense.created` outbox row (the
  event built from the row, the `INSERT` into `outbox` and the `NOTIFY`, exactly `emit`), alternated
  twice; transactions/s of each and their ratio. The relay is not running meanwhile: this is the
  cost on the write path, the publishing cost is `relay`'s.

Writes bench/results/events.json.

    uv run python bench/event_latency.py [--samples 300] [--events 50000] [--no-save]
"""

import argparse
import asyncio
import contextlib
import csv
import json
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
from harness import (
    Servers,
    arguments,
    cpu_seconds,
    database,
    descendants,
    fleet,
    load_average,
    machine,
    measured_at,
    no_rate_limits,
    percentiles,
    plain,
    servers,
    sign_up,
    write_results,
)

from pfms_contracts.expense import ExpenseCategorized, ExpenseCreated
from pfms_expense import payloads
from pfms_expense.models import Expense
from pfms_local.fleet import wait_for
from pfms_platform.catalogue import service
from pfms_platform.db import Database
from pfms_platform.events.bus import Bus, queue_arguments
from pfms_platform.events.outbox import OutboxRelay, emit, emit_many
from pfms_platform.migrations import upgrade
from pfms_platform.testing.fixtures import service_dir

GOALS = {"categorized_p95_ms": 100.0, "relay_events_per_second": 5000.0}
DESCRIPTIONS = (
    Path(__file__).resolve().parents[1] / "services" / "ai" / "tests" / "files" / "categorisation_test_set.csv"
)
SERVICES = tuple(service(name) for name in ("auth", "expense", "ai", "market-data"))
SAMPLE_TIMEOUT = 10.0
OUTBOX_DATABASE = "bench_outbox"


def descriptions() -> list[str]:
    with DESCRIPTIONS.open(newline="") as file:
        return [row["description"] for row in csv.DictReader(file)]


class Tap:
    """An exclusive queue on `expense.created` and `expense.categorized`: when each expense's events
    reached the broker (and this process), to split the latency into hops."""

    def __init__(self, connection: aio_pika.abc.AbstractRobustConnection) -> None:
        self.connection = connection
        self.seen: dict[tuple[str, str], float] = {}

    @classmethod
    async def open(cls, amqp_url: str) -> "Tap":
        tap = cls(await aio_pika.connect_robust(amqp_url))
        channel = await tap.connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for model in (ExpenseCreated, ExpenseCategorized):
            await queue.bind(model.exchange, routing_key=model.type)
        await queue.consume(tap.on_message, no_ack=True)
        return tap

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        event = json.loads(message.body)
        self.seen[(event["type"], event["data"]["expense_id"])] = time.perf_counter()

    def at(self, event_type: str, expense_id: uuid.UUID) -> float | None:
        return self.seen.get((event_type, str(expense_id)))

    async def close(self) -> None:
        await self.connection.close()


async def categorized(bench: Servers, samples: int, warmup: int, users: int, poll_ms: float) -> dict[str, Any]:
    """Expense POST (201) → the row holds the category from `expense.categorized`, one at a time; with
    the times `expense.created` and `expense.categorized` reached a queue of this process."""
    env = no_rate_limits(SERVICES) | {"PFMS_AI_CATEGORIZE_MIN_CONFIDENCE": "0"}
    texts = descriptions()
    async with fleet(bench, SERVICES, extra_env=env, gateway=False) as running:
        async with httpx.AsyncClient(base_url=running.url("auth"), timeout=30) as auth:
            tokens = await sign_up(auth, users)
        expenses = httpx.AsyncClient(base_url=running.url("expense"), timeout=30)
        db = await asyncpg.connect(plain(bench.stack.postgres.url(service("expense").database)))
        tap = await Tap.open(bench.stack.rabbitmq.url())
        try:
            for token in tokens:

                async def has_categories(token: str = token) -> bool:
                    answer = await expenses.get("/api/v1/categories", headers={"Authorization": f"Bearer {token}"})
                    return answer.status_code == 200 and bool(answer.json()["data"])

                await wait_for(has_categories, timeout=60, message="default categories from user.created")
            post_ms: list[float] = []
            applied_ms: list[float] = []
            hops: dict[str, list[float]] = {"created_on_the_bus": [], "categorized_on_the_bus": []}
            missed = 0
            for i in range(warmup + samples):
                body = {
                    "amount": f"{5 + i % 90}.{i % 100:02d}",
                    "currency": "USD",
                    "expense_date": datetime.now(UTC).date().isoformat(),
                    "description": texts[i % len(texts)],
                }
                headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
                sent = time.perf_counter()
                answer = await expenses.post("/api/v1/expenses", json=body, headers=headers)
                committed = time.perf_counter()
                assert answer.status_code == 201, answer.text
                expense_id = uuid.UUID(answer.json()["data"]["id"])
                while await db.fetchval("SELECT category_id FROM expenses WHERE id = $1", expense_id) is None:
                    if time.perf_counter() - committed > SAMPLE_TIMEOUT:
                        missed += 1
                        break
                    await asyncio.sleep(poll_ms / 1000)
                else:
                    if i >= warmup:
                        post_ms.append((committed - sent) * 1000)
                        applied_ms.append((time.perf_counter() - committed) * 1000)
                        for hop, event_type in zip(hops, (ExpenseCreated.type, ExpenseCategorized.type), strict=True):
                            arrived = tap.at(event_type, expense_id)
                            if arrived is not None:
                                hops[hop].append((arrived - committed) * 1000)
        finally:
            await tap.close()
            await db.close()
            await expenses.aclose()
    return {
        "what": "POST /api/v1/expenses 201 → the row holds the category from expense.categorized",
        "users": users,
        "warmup_left_out": warmup,
        "poll_ms": poll_ms,
        "missed_after_10_s": missed,
        "commit_to_applied": percentiles(applied_ms, stats=("p50", "p95", "p99", "max")),
        "post_request": percentiles(post_ms, stats=("p50", "p95")),
        "hops_from_the_201": {
            "what": "when each event reached a queue of this script (expense's relay; then ai's consumer, model, "
            "outbox and relay); the rest up to `commit_to_applied` is expense's consumer and the poll",
            **{hop: percentiles(values, stats=("p50", "p95", "max")) for hop, values in hops.items() if values},
        },
    }


async def outbox_database(bench: Servers) -> str:
    """A database of its own with the expense schema (its `expenses` and `outbox` tables)."""
    bench.stack.postgres.create_database(OUTBOX_DATABASE)
    url = bench.stack.postgres.url(OUTBOX_DATABASE)
    await asyncio.to_thread(upgrade, service_dir("expense"), url)
    return url


def event(user_id: uuid.UUID, i: int) -> ExpenseCreated:
    return ExpenseCreated(
        user_id=user_id,
        expense_id=uuid.uuid4(),
        amount=Decimal("12.34"),
        currency="USD",
        category_id=None,
        category_name="Groceries",
        expense_date=date.today(),
        description=f"CARD PURCHASE {i}",
        tags=[],
        payment_method=None,
        source="manual",
        recurring_expense_id=None,
    )


async def relay(bench: Servers, url: str, events: int, batch: int) -> dict[str, Any]:
    """`events` outbox rows, then `OutboxRelay` (`batch` rows at a time) until none is pending."""
    db = Database(url, service="bench")
    bus = Bus(bench.stack.rabbitmq.url(), "bench-relay")
    await bus.connect()
    queue_name = "bench.relay.expense-created"
    connection = await aio_pika.connect_robust(bench.stack.rabbitmq.url())
    channel = await connection.channel()
    exchange = await channel.get_exchange(ExpenseCreated.exchange)
    queue = await channel.declare_queue(queue_name, durable=True, arguments=queue_arguments(queue_name))
    await queue.bind(exchange, ExpenseCreated.type)
    try:
        user_id = uuid.uuid4()
        async with db.sessions() as session, session.begin():
            for start in range(0, events, 5000):
                await emit_many(session, [event(user_id, i) for i in range(start, min(events, start + 5000))])
        outbox_relay = OutboxRelay(db, bus, "bench", url, batch=batch)
        broker = bench.stack.rabbitmq.proc.pid if bench.stack.rabbitmq.proc else None
        cpu_before = (time.process_time(), tree_cpu_seconds(broker))
        began = time.perf_counter()
        task = asyncio.create_task(outbox_relay.run())
        while await outbox_relay.pending():
            await asyncio.sleep(0.2)
        seconds = time.perf_counter() - began
        cpu = (time.process_time() - cpu_before[0], tree_cpu_seconds(broker) - cpu_before[1])
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        delivered = await queued(bench, queue_name, events)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
        await bus.close()
        await db.dispose()
    return {
        "what": "OutboxRelay (publisher confirms) from start until no outbox row is pending",
        "batch": batch,
        "batches_in_flight": outbox_relay.depth,
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "in_the_queue": delivered,
        "cpu_seconds": {"relay_process": round(cpu[0], 1), "broker": round(cpu[1], 1)},
        "cpu_ms_per_event": {
            "relay_process": round(cpu[0] * 1000 / events, 3),
            "broker": round(cpu[1] * 1000 / events, 3),
        },
    }


async def queued(bench: Servers, name: str, expected: int) -> int:
    """Messages in the queue, from the management API (a quorum queue's declare-ok says 0); its
    statistics refresh every few seconds, so wait up to 20 s for `expected`."""
    deadline = time.monotonic() + 20
    while True:
        count = int(str((await asyncio.to_thread(bench.stack.rabbitmq.queue, "/", name)).get("messages", 0)))
        if count >= expected or time.monotonic() > deadline:
            return count
        await asyncio.sleep(1)


def tree_cpu_seconds(pid: int | None) -> float:
    """CPU time of a server and its children so far (RabbitMQ runs beam under a start script)."""
    total = 0.0
    for each in descendants(pid) if pid else []:
        with contextlib.suppress(OSError):
            total += cpu_seconds(each)
    return total


async def writes(db: Database, *, with_outbox: bool, writers: int, seconds: float) -> float:
    """Transactions/s of `writers` tasks each committing one expense row (and its event) at a time."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def writer() -> None:
        nonlocal done
        user_id = uuid.uuid4()
        while time.perf_counter() < deadline:
            async with db.sessions() as session, session.begin():
                row = Expense(
                    id=uuid.uuid4(),
                    user_id=user_id,
                    amount=Decimal("12.34"),
                    currency="USD",
                    description="CARD PURCHASE",
                    expense_date=date.today(),
                    tags=[],
                    source="manual",
                )
                session.add(row)
                if with_outbox:
                    await emit(session, payloads.created(row, None))
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    return done / (time.perf_counter() - began)


async def outbox_cost(url: str, writers: int, seconds: float) -> dict[str, Any]:
    db = Database(url, pool_size=writers, service="bench")
    runs: dict[str, list[float]] = {"without_outbox": [], "with_outbox": []}
    try:
        await writes(db, with_outbox=True, writers=writers, seconds=1)  # warm-up: pool, statements
        for _ in range(2):
            runs["without_outbox"].append(await writes(db, with_outbox=False, writers=writers, seconds=seconds))
            runs["with_outbox"].append(await writes(db, with_outbox=True, writers=writers, seconds=seconds))
    finally:
        await db.dispose()
    without = sum(runs["without_outbox"]) / 2
    with_ = sum(runs["with_outbox"]) / 2
    return {
        "what": "one expense row per transaction, without and with its expense.created outbox row (emit)",
        "writers": writers,
        "seconds_each": seconds,
        "runs_per_second": {k: [round(x) for x in v] for k, v in runs.items()},
        "without_outbox_per_second": round(without),
        "with_outbox_per_second": round(with_),
        "with_as_share_of_without": round(with_ / without, 3),
    }


async def run(bench: Servers, args: argparse.Namespace) -> dict[str, Any]:
    load_before = load_average()
    latency = await categorized(bench, args.samples, args.warmup, args.users, args.poll_ms)
    url = await outbox_database(bench)
    throughput = await relay(bench, url, args.events, args.relay_batch)
    cost = await outbox_cost(url, args.writers, args.write_seconds)
    p95 = latency["commit_to_applied"]["p95_ms"]
    return {
        "benchmark": "event latency (expense.created → expense.categorized applied), outbox relay throughput "
        "and the outbox's cost on a write",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "categorized": latency,
        "relay": throughput,
        "outbox_cost": cost,
        "goals": GOALS,
        "met": {
            "categorized_p95_ms": p95 < GOALS["categorized_p95_ms"] and not latency["missed_after_10_s"],
            "relay_events_per_second": throughput["events_per_second"] >= GOALS["relay_events_per_second"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--poll-ms", type=float, default=2.0)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--relay-batch", type=int, default=500, help="rows per batch (the services run 500)")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--write-seconds", type=float, default=10.0)
    args = arguments(__doc__, parser)
    with servers("events") as bench:
        for info in SERVICES:
            if info.store == "postgres":
                database(bench.stack, info.name)  # under the catalogue's name, where the fleet looks
        result = asyncio.run(run(bench, args))
    write_results("events", result, save=not args.no_save)


if __name__ == "__main__":
    main()
