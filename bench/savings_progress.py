"""Benchmark: `GET /api/v1/savings/goals/{id}/progress` for a goal with 10,000 contributions (p95).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh savings database, runs
the real service (`pfms-savings serve`, uvicorn) as a separate process, creates one goal through the
API and gives it 10,000 entries over the last two years (9,000 contributions, 1,000 withdrawals,
written with COPY as `store.record` leaves them, the running total set to their net). It measures:

- the progress request through HTTP (the running total, one aggregate over the goal's entries for
  the projection, the milestones);
- a contribution through HTTP (lock the goal, insert, move the total, check thresholds);
- page 1 of the goal's entries.

Writes bench/results/savings.json. Usage: `uv run python bench/savings_progress.py`.
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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from pfms_devservers import Stack, free_port
from pfms_platform.migrations import upgrade
from pfms_platform.testing.keys import TestKeys
from pfms_savings.main import SERVICE_DIR
from pfms_savings.models import Contribution

RESULTS = Path(__file__).resolve().parent / "results" / "savings.json"
ENTRIES = 10_000
RUNS = 300
WARMUP = 30
WRITES = 100
DEADLINE_SECONDS = 240


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
    }


async def seed(dsn: str, user_id: uuid.UUID, goal_id: uuid.UUID) -> Decimal:
    """10,000 entries of one goal (and as many of another user's goal, so the index has to choose)."""
    rng = random.Random(7)
    today = datetime.now(UTC).date()
    conn = await asyncpg.connect(dsn)
    try:
        other_goal = uuid.uuid4()
        other_user = uuid.uuid4()
        await conn.execute(
            "INSERT INTO goals (id, user_id, name, category, priority, status, target_amount, saved_amount, currency)"
            " VALUES ($1, $2, 'Other', 'other', 'low', 'active', 1000000, 0, 'USD')",
            other_goal,
            other_user,
        )
        net = Decimal(0)
        records = []
        for i in range(ENTRIES):
            amount = Decimal(rng.randint(100, 5000)) / 100
            withdrawal = i % 10 == 9
            net += -amount if withdrawal else amount
            day = today - timedelta(days=730 - i * 730 // ENTRIES)
            kind = "withdrawal" if withdrawal else "contribution"
            records.append((uuid.uuid4(), goal_id, user_id, kind, amount, day, "manual", None, None))
            records.append((uuid.uuid4(), other_goal, other_user, "contribution", amount, day, "manual", None, None))
        assert net > 0
        await conn.copy_records_to_table(
            Contribution.__tablename__,
            records=records,
            columns=["id", "goal_id", "user_id", "kind", "amount", "contributed_on", "source", "rule_id", "note"],
        )
        await conn.execute("UPDATE goals SET saved_amount = $1 WHERE id = $2", net, goal_id)
        await conn.execute(  # what `store.record` would have kept on the way to 40 %
            "INSERT INTO goal_milestones (goal_id, percent, user_id) VALUES ($1, 25, $2)", goal_id, user_id
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return net


async def timed(call: Any, runs: int, warmup: int) -> dict[str, float]:
    samples = []
    for i in range(runs + warmup):
        started = time.perf_counter()
        response = await call(i)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code in (200, 201), response.text
        if i >= warmup:
            samples.append(elapsed)
    return percentiles(samples)


async def wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the savings service exited during start-up"
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("savings service not ready")


async def measure(dsn: str, port: int, keys: TestKeys, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10, headers=headers) as client:
        await wait_ready(client, process)
        created = await client.post(
            "/api/v1/savings/goals",
            json={
                "name": "House deposit",
                "category": "home",
                "target_amount": "500000.00",
                "currency": "USD",
                "target_date": (datetime.now(UTC).date() + timedelta(days=900)).isoformat(),
            },
        )
        created.raise_for_status()
        goal_id = created.json()["data"]["id"]
        net = await seed(dsn.replace("+asyncpg", ""), user_id, uuid.UUID(goal_id))
        progress_path = f"/api/v1/savings/goals/{goal_id}/progress"
        first = (await client.get(progress_path)).json()["data"]
        assert first["contributions"] == ENTRIES and Decimal(first["saved_amount"]) == net, first

        async def progress(_: int) -> httpx.Response:
            return await client.get(progress_path)

        async def contribute(_: int) -> httpx.Response:
            return await client.post(f"/api/v1/savings/goals/{goal_id}/contribute", json={"amount": "1.00"})

        async def page(_: int) -> httpx.Response:
            return await client.get(f"/api/v1/savings/goals/{goal_id}/contributions", params={"limit": 20})

        return {
            "progress_http": await timed(progress, RUNS, WARMUP),
            "contribute_http": await timed(contribute, WRITES, 10),
            "contributions_page_http": await timed(page, RUNS, WARMUP),
            "sample_progress": first,
        }


def main() -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    stack = Stack.create(Path(tempfile.mkdtemp(prefix="pfms-bench-savings-")), fast=True)
    stack.start()
    keys = TestKeys()
    jwks = keys.serve()
    process: subprocess.Popen[bytes] | None = None
    try:
        stack.postgres.create_database("pfms_savings")
        dsn = stack.postgres.url("pfms_savings")
        upgrade(SERVICE_DIR, dsn)
        port = free_port()
        env = {
            **os.environ,
            "PFMS_SAVINGS_DATABASE_URL": dsn,
            "PFMS_SAVINGS_AMQP_URL": stack.rabbitmq.url(),
            "PFMS_SAVINGS_REDIS_URL": stack.redis.url(1),
            "PFMS_SAVINGS_JWKS_URL": jwks,
            "PFMS_SAVINGS_PORT": str(port),
            "PFMS_SAVINGS_USER_RATE_LIMIT_PER_MINUTE": "0",
            "PFMS_SAVINGS_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "pfms-savings"), "serve"], env=env, stdout=subprocess.DEVNULL
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
        "benchmark": "savings goal progress with 10,000 contributions",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        },
        "data": {"entries_of_the_goal": ENTRIES, "entries_of_another_goal": ENTRIES, "withdrawals": ENTRIES // 10},
        **timings,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, default=str))
