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

Writes bench/results/tax.json. Usage: `uv run python bench/tax_calculation.py [--no-save]`.
"""

import asyncio
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
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

from pfms_platform.db import Database
from pfms_platform.internal import InternalClient
from pfms_platform.testing.keys import TestKeys
from pfms_tax import calculator, domain, regimes, store
from pfms_tax.models import IncomeFact, RealizedGainFact, SaleRevision, TaxDeduction
from pfms_tax.settings import Settings

RUNS = 200
WARMUP = 20
INCOME_ROWS = 10_000
GAIN_ROWS = 1_000
DEDUCTIONS = 40
YEAR = 2024
TARGET_MS = 100.0
DEADLINE_SECONDS = 300


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


async def measure(dsn: str, service: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    async with httpx.AsyncClient(base_url=service.url, timeout=10) as client:
        await service.ready()
        await seed(plain(dsn), user_id, client, headers)
        pure = time_pure(user_id)
        in_process = await time_service_path(dsn, user_id)
        uncached = await time_http(plain(dsn), client, headers, user_id, cached=False)
        cached = await time_http(plain(dsn), client, headers, user_id, cached=True)
        answer = (await client.get("/api/v1/tax/calculate", params={"year": YEAR}, headers=headers)).json()["data"]
    summary = {k: answer[k] for k in ("gross_income", "taxable_income", "tax_owed", "effective_rate", "marginal_rate")}
    return {
        "pure_function": pure,
        "service_path_uncached": in_process,
        "http_uncached": uncached,
        "http_cached": cached,
        "answer": summary,
    }


def main(save: bool) -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("tax") as run:
        dsn = database(run.stack, "tax")
        with serve("tax", run, database_url=dsn) as service:
            load_before = load_average()
            timings = asyncio.run(asyncio.wait_for(measure(dsn, service, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "tax calculation for one year (US 2024, married filing jointly)",
        "measured_at": measured_at(),
        "machine": machine(load_before),
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
    write_results("tax", result, save=save)
    return result


if __name__ == "__main__":
    outcome = main(save=not arguments(__doc__).no_save)
    sys.exit(0 if outcome["meets_target"]["http_uncached_p50"] else 1)
