"""Benchmark: a year's tax calculation from 10,000 income rows and 1,000 realized gains (target < 100 ms).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh tax database, runs the
real service (`pfms-tax serve`, uvicorn) as a separate process, and gives one user (US, married
filing jointly, two children) a busy read model for 2024: 10,000 income rows of five kinds, 1,000
realized gains (short and long term, some losses) and 40 deductions. Then it measures:

- the pure functions alone on the 11,040 individual rows, in this process: `domain.classify` (each
  lot short or long term) and `domain.calculate` (the service hands them fewer rows: the database
  sums income per currency and source type, gains per holding class; per day for a foreign currency);
- `GET /api/v1/tax/calculate?year=2024` through HTTP with a cache miss every time: before each
  request the user's input version is bumped (what any input event does), so the service sums the
  income, reads every gain and deduction, converts, computes, stores the calculation and answers;
- the same work in this process without HTTP (`calculator.calculation` on its own session, the
  version bumped before each call): what the request costs the service apart from the web layer;
- the same request answered from the stored calculation.

Writes bench/results/tax.json. Usage: `uv run python bench/tax_calculation.py`.
"""

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from pfms_devservers import Stack, free_port
from pfms_platform.db import Database
from pfms_platform.internal import InternalClient
from pfms_platform.migrations import upgrade
from pfms_platform.testing.keys import TestKeys
from pfms_tax import calculator, domain, regimes, store
from pfms_tax.main import SERVICE_DIR
from pfms_tax.models import IncomeFact, RealizedGainFact, SaleRevision, TaxDeduction
from pfms_tax.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results" / "tax.json"
RUNS = 200
WARMUP = 20
INCOME_ROWS = 10_000
GAIN_ROWS = 1_000
DEDUCTIONS = 40
YEAR = 2024
TARGET_MS = 100.0
DEADLINE_SECONDS = 300


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def rows(user_id: uuid.UUID) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The read model as the event handlers write it."""
    rng = random.Random(7)
    start = date(YEAR, 1, 1)
    kinds = ["salary", "freelance", "business", "bonus", "investment"]
    incomes = [
        (
            uuid.uuid4(),
            user_id,
            kinds[i % len(kinds)],
            Decimal(rng.randint(1_000, 6_000)) / 100,
            Decimal(rng.randint(0, 500)) / 100,
            "USD",
            start + timedelta(days=i % 366),
            False,
        )
        for i in range(INCOME_ROWS)
    ]
    gains = []
    for _ in range(GAIN_ROWS):
        sold = start + timedelta(days=rng.randint(0, 365))
        bought = sold - timedelta(days=rng.randint(10, 1500))
        cost = Decimal(rng.randint(10_000, 500_000)) / 100
        proceeds = cost * Decimal(rng.randint(70, 160)) / 100
        gains.append(
            (
                uuid.uuid4(),
                uuid.uuid4(),
                user_id,
                "AAPL",
                Decimal(5),
                bought,
                sold,
                proceeds,
                cost,
                proceeds - cost,
                "USD",
            )
        )
    categories = ["retirement_contribution", "hsa_contribution", "mortgage_interest", "charitable", "state_local_tax"]
    deductions = [
        (
            uuid.uuid4(),
            user_id,
            YEAR,
            categories[i % len(categories)],
            Decimal(rng.randint(5_000, 90_000)) / 100,
            "USD",
            "claimed",
            datetime.now(UTC),
            datetime.now(UTC),
        )
        for i in range(DEDUCTIONS)
    ]
    return incomes, gains, deductions


async def seed(dsn: str, user_id: uuid.UUID, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.put(
        f"/api/v1/tax/profiles/{YEAR}",
        json={"country_code": "US", "filing_status": "married_joint", "dependents": 2},
        headers=headers,
    )
    response.raise_for_status()
    incomes, gains, deductions = rows(user_id)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            IncomeFact.__tablename__,
            records=incomes,
            columns=[
                "income_id",
                "user_id",
                "source_type",
                "amount",
                "tax_deducted",
                "currency",
                "received_date",
                "deleted",
            ],
        )
        await conn.copy_records_to_table(
            RealizedGainFact.__tablename__,
            records=gains,
            columns=[
                "transaction_id",
                "lot_id",
                "user_id",
                "symbol",
                "quantity",
                "acquisition_date",
                "disposal_date",
                "proceeds",
                "cost",
                "gain",
                "currency",
            ],
        )
        await conn.copy_records_to_table(
            SaleRevision.__tablename__,
            records=[(g[0], user_id, 0) for g in gains],
            columns=["transaction_id", "user_id", "revision"],
        )
        await conn.copy_records_to_table(
            TaxDeduction.__tablename__,
            records=deductions,
            columns=[
                "id",
                "user_id",
                "tax_year",
                "category",
                "amount",
                "currency",
                "status",
                "created_at",
                "updated_at",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def time_pure(user_id: uuid.UUID) -> dict[str, Any]:
    """The pure function on the same rows (already in the regime's currency, as the service hands them)."""
    regime = regimes.find("US", YEAR)
    assert regime is not None
    incomes, gains, deductions = rows(user_id)
    income = [domain.Income(r[3], r[4], r[2]) for r in incomes]
    gain = [domain.Gain(r[9], r[5], r[6]) for r in gains]
    deduction = [domain.Deduction(r[3], r[4]) for r in deductions]
    samples = []
    result = None
    for i in range(RUNS + WARMUP):
        started = time.perf_counter()
        held = domain.classify(gain, regime.long_term_after_months)
        result = domain.calculate(regime, "married_joint", 2, income, held, deduction)
        if i >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
    assert result is not None and result.income_rows == INCOME_ROWS and result.gain_rows == GAIN_ROWS
    return percentiles(samples)


async def time_http(
    dsn: str, client: httpx.AsyncClient, headers: dict[str, str], user_id: uuid.UUID, *, cached: bool
) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    samples = []
    try:
        for i in range(RUNS + WARMUP):
            if not cached:
                await conn.execute("UPDATE tax_inputs SET version = version + 1 WHERE user_id = $1", user_id)
            started = time.perf_counter()
            response = await client.get("/api/v1/tax/calculate", params={"year": YEAR}, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            body = response.json()["data"]
            assert body["income_rows"] == INCOME_ROWS and body["gain_rows"] == GAIN_ROWS
            assert body["cached"] is cached or i == 0
            if i >= WARMUP:
                samples.append(elapsed)
    finally:
        await conn.close()
    return percentiles(samples)


async def time_service_path(dsn: str, user_id: uuid.UUID) -> dict[str, float]:
    db = Database(dsn)
    market = InternalClient(Settings(database_url=dsn), target="market-data")  # never called: all USD
    samples = []
    try:
        for i in range(RUNS + WARMUP):
            async with db.sessions() as session:
                await store.bump(session, user_id)
                await session.commit()
                started = time.perf_counter()
                answer = await calculator.calculation(session, market, user_id, YEAR)
                await session.commit()
                elapsed = (time.perf_counter() - started) * 1000
            assert answer["cached"] is False and answer["income_rows"] == INCOME_ROWS
            if i >= WARMUP:
                samples.append(elapsed)
    finally:
        await market.aclose()
        await db.dispose()
    return percentiles(samples)


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the tax service exited during start-up"
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("tax service not ready")


async def measure(dsn: str, port: int, keys: TestKeys, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    plain = dsn.replace("+asyncpg", "")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        await wait_ready(client, process)
        await seed(plain, user_id, client, headers)
        pure = time_pure(user_id)
        service = await time_service_path(dsn, user_id)
        uncached = await time_http(plain, client, headers, user_id, cached=False)
        cached = await time_http(plain, client, headers, user_id, cached=True)
        answer = (await client.get("/api/v1/tax/calculate", params={"year": YEAR}, headers=headers)).json()["data"]
    summary = {k: answer[k] for k in ("gross_income", "taxable_income", "tax_owed", "effective_rate", "marginal_rate")}
    return {
        "pure_function": pure,
        "service_path_uncached": service,
        "http_uncached": uncached,
        "http_cached": cached,
        "answer": summary,
    }


def main() -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    stack = Stack.create(Path(tempfile.mkdtemp(prefix="pfms-bench-tax-")), fast=True)
    stack.start()
    keys = TestKeys()
    jwks = keys.serve()
    process: subprocess.Popen[bytes] | None = None
    try:
        stack.postgres.create_database("pfms_tax")
        dsn = stack.postgres.url("pfms_tax")
        upgrade(SERVICE_DIR, dsn)
        port = free_port()
        env = {
            **os.environ,
            "PFMS_TAX_DATABASE_URL": dsn,
            "PFMS_TAX_AMQP_URL": stack.rabbitmq.url(),
            "PFMS_TAX_REDIS_URL": stack.redis.url(1),
            "PFMS_TAX_JWKS_URL": jwks,
            "PFMS_TAX_PORT": str(port),
            "PFMS_TAX_USER_RATE_LIMIT_PER_MINUTE": "0",
            "PFMS_TAX_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "pfms-tax"), "serve"], env=env, stdout=subprocess.DEVNULL
        )
        load_before = os.getloadavg()
        timings = asyncio.run(asyncio.wait_for(measure(dsn, port, keys, process), DEADLINE_SECONDS))
        load_after = os.getloadavg()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        keys.close()
        stack.stop()
    result = {
        "benchmark": "tax calculation for one year (US 2024, married filing jointly)",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        },
        "data": {"income_rows": INCOME_ROWS, "realized_gains": GAIN_ROWS, "deductions": DEDUCTIONS},
        "target": {"uncached_ms_below": TARGET_MS},
        **timings,
        "meets_target": {
            "pure_function_p95": timings["pure_function"]["p95_ms"] < TARGET_MS,
            "service_path_p50": timings["service_path_uncached"]["p50_ms"] < TARGET_MS,
            "http_uncached_p50": timings["http_uncached"]["p50_ms"] < TARGET_MS,
            "http_uncached_p95": timings["http_uncached"]["p95_ms"] < TARGET_MS,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome, indent=2))
    sys.exit(0 if outcome["meets_target"]["http_uncached_p50"] else 1)
