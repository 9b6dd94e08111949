"""Benchmark: the EMI schedule of a 360-instalment loan (target: < 20 ms).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh loan database, runs the
real service (`pfms-loan serve`, uvicorn) as a separate process, and measures:

- `amortisation.schedule` alone (the pure function, in this process) for 360 monthly instalments,
  reducing balance with compound interest compounded monthly and annually, and flat rate;
- `POST /api/v1/loans` creating a 30-year monthly EMI loan (computes and writes its 360 rows);
- `GET /api/v1/loans/{id}/schedule` of such a loan through HTTP (reads and serialises 360 rows);
- `GET /api/v1/loans/{id}` (one row) as the baseline cost of a request (token, middleware, loopback);
- a prepayment on such a loan (allocates, regenerates and rewrites the remaining schedule).

Writes bench/results/loan.json. Usage: `uv run python bench/loan_schedule.py [--no-save]`.
"""

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from harness import (
    ServiceProcess,
    arguments,
    database,
    load_average,
    machine,
    measured_at,
    percentiles,
    serve,
    servers,
    write_results,
)

from pfms_loan.amortisation import Compounding, EmiFrequency, InterestType, Method, Terms, schedule
from pfms_platform.testing.keys import TestKeys

INSTALMENTS = 360
PURE_RUNS = 500
HTTP_RUNS = 100
WARMUP = 10
TARGET_MS = 20.0
DEADLINE_SECONDS = 300

LOAN = {
    "type": "borrowed",
    "principal_amount": "250000.00",
    "currency": "USD",
    "interest_rate": "7.5",
    "interest_type": "compound",
    "interest_calculation": "monthly",
    "start_date": "2026-01-31",
    "emi_enabled": True,
    "emi_frequency": "monthly",
    "total_installments": INSTALMENTS,
}


def time_pure() -> dict[str, Any]:
    variants = {
        "reducing_compound_monthly": (Method.REDUCING, Compounding.MONTHLY),
        "reducing_compound_annual": (Method.REDUCING, Compounding.ANNUAL),
        "flat": (Method.FLAT, Compounding.MONTHLY),
    }
    out: dict[str, Any] = {}
    for name, (method, compounding) in variants.items():
        terms = Terms(
            principal=Decimal("250000"),
            annual_rate=Decimal("7.5"),
            interest_type=InterestType.COMPOUND,
            compounding=compounding,
            method=method,
            frequency=EmiFrequency.MONTHLY,
            instalments=INSTALMENTS,
            start_date=date(2026, 1, 31),
            currency="USD",
        )
        rows = schedule(terms)
        assert len(rows) == INSTALMENTS and sum(r.principal for r in rows) == terms.principal
        samples = []
        for i in range(PURE_RUNS + WARMUP):
            started = time.perf_counter()
            schedule(terms)
            if i >= WARMUP:
                samples.append((time.perf_counter() - started) * 1000)
        out[name] = percentiles(samples, digits=3)
    return out


async def timed(call: Callable[[], Awaitable[httpx.Response]], runs: int, status: int) -> dict[str, float]:
    samples = []
    for i in range(runs + WARMUP):
        started = time.perf_counter()
        response = await call()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == status, response.text
        if i >= WARMUP:
            samples.append(elapsed)
    return percentiles(samples, digits=3)


async def measure(service: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    headers = keys.auth(uuid.uuid4(), ttl=3600)
    async with httpx.AsyncClient(base_url=service.url, timeout=30, headers=headers) as client:
        await service.ready()
        create = await timed(lambda: client.post("/api/v1/loans", json=LOAN), HTTP_RUNS, 201)
        loan = (await client.post("/api/v1/loans", json=LOAN)).json()["data"]
        path = f"/api/v1/loans/{loan['id']}"
        first = (await client.get(f"{path}/schedule")).json()["data"]["instalments"]
        assert len(first) == INSTALMENTS
        read = await timed(lambda: client.get(f"{path}/schedule"), HTTP_RUNS, 200)
        baseline = await timed(lambda: client.get(path), HTTP_RUNS, 200)
        prepay = await timed(
            lambda: client.post(
                f"{path}/payments",
                json={"amount": "100.00", "payment_date": "2026-01-31", "payment_type": "prepayment"},
            ),
            HTTP_RUNS // 2,
            201,
        )
    return {
        "http_create_loan_360": create,
        "http_get_schedule_360": read,
        "http_get_loan_baseline": baseline,
        "http_prepayment_regenerate": prepay,
    }


def main(save: bool) -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    load_before = load_average()
    pure = time_pure()
    with servers("loan") as run:
        dsn = database(run.stack, "loan")
        with serve("loan", run, database_url=dsn, env={"JOBS_ENABLED": "false"}) as service:
            timings = asyncio.run(asyncio.wait_for(measure(service, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "loan EMI schedule, 360 monthly instalments",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "loan": LOAN,
        "target": {"schedule_p95_ms_below": TARGET_MS},
        "pure_schedule": pure,
        **timings,
        "meets_target": {
            "pure_p95": all(v["p95_ms"] < TARGET_MS for v in pure.values()),
            "http_get_schedule_p50": timings["http_get_schedule_360"]["p50_ms"] < TARGET_MS,
            "http_get_schedule_p95": timings["http_get_schedule_360"]["p95_ms"] < TARGET_MS,
        },
    }
    write_results("loan", result, save=save)
    return result


if __name__ == "__main__":
    outcome = main(save=not arguments(__doc__).no_save)
    sys.exit(0 if outcome["meets_target"]["pure_p95"] else 1)
