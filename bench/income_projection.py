"""Benchmark: the 365-day cash-flow projection, uncached and cached (target: uncached < 50 ms).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh income database, runs
the real service (`pfms-income serve`, uvicorn) as a separate process, and gives one user a busy
read model: 3,000 expenses over the last 30 days (plus 9,000 older ones the window skips) in two
currencies, 25 recurring expenses (some inflating, some ending), 8 income sources. Then it measures:

- `domain.project` alone (the pure function, in this process);
- `GET /api/v1/income/cashflow/projection?days=365` through HTTP with a cache miss every time (each
  request a new starting balance, so it reads the inputs, projects, stores the 365 rows and caches);
- the same request answered from the Redis cache.

Writes bench/results/income.json. Usage: `uv run python bench/income_projection.py [--no-save]`.
"""

import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from harness import (
    ServiceProcess,
    arguments,
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
from redis.asyncio import Redis

from pfms_income import cashflow, domain, store
from pfms_income.cache import ProjectionCache
from pfms_income.models import ExpenseFact, ScheduledOutflow
from pfms_income.schemas import ProjectionParams
from pfms_income.settings import Settings
from pfms_platform.db import Database
from pfms_platform.testing.keys import TestKeys

RUNS = 300
WARMUP = 30
DAYS = 365
TARGET_MS = 50.0
DEADLINE_SECONDS = 240


async def seed(dsn: str, user_id: uuid.UUID, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Income sources through the API; the read model straight into its tables (as the handlers write it)."""
    rng = random.Random(4)
    today = datetime.now(UTC).date()
    sources = [
        ("Payroll", "salary", "4200.00", "monthly", -20),
        ("Payroll bonus", "bonus", "2500.00", "quarterly", -40),
        ("Rent from flat", "business", "900.00", "monthly", -3),
        ("Freelance retainer", "freelance", "650.00", "biweekly", -5),
        ("Dividends", "investment", "120.00", "quarterly", -70),
        ("Tutoring", "other", "60.00", "weekly", -2),
        ("Signing bonus", "bonus", "3000.00", "one_time", 45),
        ("Royalties", "investment", "300.00", "yearly", -100),
    ]
    for name, kind, amount, frequency, offset in sources:
        body = {
            "name": name,
            "type": kind,
            "amount": amount,
            "currency": "USD",
            "frequency": frequency,
            "start_date": (today + timedelta(days=offset)).isoformat(),
        }
        response = await client.post("/api/v1/income/sources", json=body, headers=headers)
        response.raise_for_status()

    conn = await asyncpg.connect(dsn)
    try:
        facts = [
            (
                uuid.uuid4(),
                user_id,
                Decimal(rng.randint(100, 20000)) / 100,
                "USD" if i % 10 else "EUR",
                today - timedelta(days=i % 120),
                None,
                None,
                False,
            )
            for i in range(12000)
        ]
        await conn.copy_records_to_table(
            ExpenseFact.__tablename__,
            records=facts,
            columns=[
                "expense_id",
                "user_id",
                "amount",
                "currency",
                "expense_date",
                "category_id",
                "recurring_expense_id",
                "deleted",
            ],
        )
        frequencies = ["monthly", "monthly", "weekly", "quarterly", "yearly", "biweekly", "daily"]
        outflows = []
        for i in range(25):
            start = today - timedelta(days=rng.randint(0, 700))
            frequency = frequencies[i % len(frequencies)]
            outflows.append(
                (
                    uuid.uuid4(),
                    user_id,
                    "recurring_expense",
                    uuid.uuid4(),
                    Decimal(rng.randint(500, 150000)) / 100,
                    "USD" if i % 6 else "GBP",
                    frequency,
                    start,
                    today + timedelta(days=rng.randint(1, 20)),
                    today + timedelta(days=200) if i % 5 == 0 else None,
                    Decimal("0.03") if i % 3 == 0 else Decimal(0),
                    f"Bill {i}",
                    True,
                    False,
                )
            )
        await conn.copy_records_to_table(
            ScheduledOutflow.__tablename__,
            records=outflows,
            columns=[
                "id",
                "user_id",
                "kind",
                "external_id",
                "amount",
                "currency",
                "frequency",
                "start_date",
                "next_due_date",
                "end_date",
                "inflation_rate",
                "description",
                "active",
                "deleted",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def time_pure(dsn: str, user_id: uuid.UUID) -> dict[str, float]:
    """The pure function on the same inputs the service loads."""
    db = Database(dsn)
    today = datetime.now(UTC).date()
    async with db.sessions() as session:
        inputs = domain.ProjectionInput(
            today=today,
            days=DAYS,
            currency="USD",
            starting_balance=Decimal("5000.00"),
            threshold=Decimal("500.00"),
            burn_totals=await store.burn_totals(session, user_id, today - timedelta(days=29), today),
            incomes=await store.income_schedules(session, user_id),
            outflows=await store.outflow_schedules(session, user_id),
        )
    await db.dispose()
    samples = []
    for i in range(RUNS + WARMUP):
        started = time.perf_counter()
        domain.project(inputs)
        if i >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


async def time_service_path(dsn: str, redis_url: str, user_id: uuid.UUID) -> dict[str, dict[str, float]]:
    """In this process, no HTTP: reading the inputs, projecting and shaping (the request's work), then
    storing the latest projection (done after the answer is sent)."""
    db = Database(dsn)
    settings = Settings(database_url=dsn)
    redis = Redis.from_url(redis_url)
    no_cache = ProjectionCache(redis, ttl_seconds=0)
    answer, keep = [], []
    for i in range(RUNS + WARMUP):
        params = ProjectionParams(days=DAYS, starting_balance=Decimal(5000 + i), threshold=Decimal(500))
        started = time.perf_counter()
        async with db.sessions() as session:
            body, computed = await cashflow.projection(session, no_cache, settings, user_id, params)
        answered = time.perf_counter()
        assert computed is not None
        await cashflow.keep_latest(db, user_id, computed, body["calculated_at"])
        if i >= WARMUP:
            answer.append((answered - started) * 1000)
            keep.append((time.perf_counter() - answered) * 1000)
    await db.dispose()
    await redis.aclose()
    return {"answer": percentiles(answer), "store_latest_after_answer": percentiles(keep)}


async def time_http(client: httpx.AsyncClient, headers: dict[str, str], *, cached: bool) -> dict[str, float]:
    samples = []
    for i in range(RUNS + WARMUP):
        balance = "5000.00" if cached else f"{5000 + i}.00"
        params: dict[str, str | int] = {"days": DAYS, "starting_balance": balance, "threshold": "500"}
        started = time.perf_counter()
        response = await client.get("/api/v1/income/cashflow/projection", params=params, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        body = response.json()["data"]
        assert len(body["series"]) == DAYS and (body["cached"] is cached or i == 0)
        if i >= WARMUP:
            samples.append(elapsed)
    return percentiles(samples)


async def measure(dsn: str, redis_url: str, process: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
        await process.ready()
        await seed(plain(dsn), user_id, client, headers)
        pure = await time_pure(dsn, user_id)
        service = await time_service_path(dsn, redis_url, user_id)
        uncached = await time_http(client, headers, cached=False)
        cached = await time_http(client, headers, cached=True)
    return {"pure_function": pure, "service_path_uncached": service, "http_uncached": uncached, "http_cached": cached}


def main(save: bool) -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("income") as run:
        dsn = database(run.stack, "income")
        with serve("income", run, database_url=dsn) as service:
            load_before = load_average()
            work = measure(dsn, run.stack.redis.url(1), service, run.keys)
            timings = asyncio.run(asyncio.wait_for(work, DEADLINE_SECONDS))
    result = {
        "benchmark": "income cash-flow projection, 365 days",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "data": {
            "expense_facts": 12000,
            "expense_facts_in_burn_window": 3000,
            "recurring_expenses": 25,
            "income_sources": 8,
            "currencies": ["USD", "EUR", "GBP"],
        },
        "target": {"uncached_p95_ms_below": TARGET_MS},
        **timings,
        "meets_target": {
            "service_path_p95": timings["service_path_uncached"]["answer"]["p95_ms"] < TARGET_MS,
            "http_p50": timings["http_uncached"]["p50_ms"] < TARGET_MS,
            "http_p95": timings["http_uncached"]["p95_ms"] < TARGET_MS,
        },
    }
    write_results("income", result, save=save)
    return result


if __name__ == "__main__":
    outcome = main(save=not arguments(__doc__).no_save)
    sys.exit(0 if outcome["meets_target"]["service_path_p95"] else 1)
