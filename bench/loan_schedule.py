"""Benchmark: the EMI schedule of a 360-instalment loan (target: < 20 ms).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh loan database, runs the
real service (`pfms-loan serve`, uvicorn) as a separate process, and measures:

- `amortisation.schedule` alone (the pure function, in this process) for 360 monthly instalments,
  reducing balance with compound interest compounded monthly and annually, and flat rate;
- `POST /api/v1/loans` creating a 30-year monthly EMI loan (computes and writes its 360 rows);
- `GET /api/v1/loans/{id}/schedule` of such a loan through HTTP (reads and serialises 360 rows);
- `GET /api/v1/loans/{id}` (one row) as the baseline cost of a request (token, middleware, loopback);
- a prepayment on such a loan (allocates, regenerates and rewrites the remaining schedule).

Writes bench/results/loan.json. Usage: `uv run python bench/loan_schedule.py`.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from pfms_devservers import Stack, free_port
from pfms_loan.amortisation import Compounding, EmiFrequency, InterestType, Method, Terms, schedule
from pfms_loan.main import SERVICE_DIR
from pfms_platform.migrations import upgrade
from pfms_platform.testing.keys import TestKeys

RESULTS = Path(__file__).resolve().parent / "results" / "loan.json"
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


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
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
        out[name] = percentiles(samples)
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
    return percentiles(samples)


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError("loan service exited")
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("loan service not ready")


async def measure(port: int, keys: TestKeys, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    headers = keys.auth(uuid.uuid4(), ttl=3600)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=headers) as client:
        await wait_ready(client, process)
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


def main() -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    load_before = os.getloadavg()
    pure = time_pure()
    stack = Stack.create(Path(tempfile.mkdtemp(prefix="pfms-bench-loan-")), fast=True)
    stack.start()
    keys = TestKeys()
    jwks = keys.serve()
    process: subprocess.Popen[bytes] | None = None
    try:
        stack.postgres.create_database("pfms_loan")
        dsn = stack.postgres.url("pfms_loan")
        upgrade(SERVICE_DIR, dsn)
        port = free_port()
        env = {
            **os.environ,
            "PFMS_LOAN_DATABASE_URL": dsn,
            "PFMS_LOAN_AMQP_URL": stack.rabbitmq.url(),
            "PFMS_LOAN_REDIS_URL": stack.redis.url(1),
            "PFMS_LOAN_JWKS_URL": jwks,
            "PFMS_LOAN_PORT": str(port),
            "PFMS_LOAN_USER_RATE_LIMIT_PER_MINUTE": "0",
            "PFMS_LOAN_JOBS_ENABLED": "false",
            "PFMS_LOAN_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "pfms-loan"), "serve"], env=env, stdout=subprocess.DEVNULL
        )
        timings = asyncio.run(asyncio.wait_for(measure(port, keys, process), DEADLINE_SECONDS))
        load_after = os.getloadavg()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        keys.close()
        stack.stop()
    result = {
        "benchmark": "loan EMI schedule, 360 monthly instalments",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        },
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
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome, indent=2))
    sys.exit(0 if outcome["meets_target"]["pure_p95"] else 1)
