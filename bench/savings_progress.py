"""Benchmark: `GET /api/v1/savings/goals/{id}/progress` for a goal with 10,000 contributions (p95).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh savings database, runs
the real service (`pfms-savings serve`, uvicorn) as a separate process, creates one goal through the
API and gives it 10,000 entries over the last two years (9,000 contributions, 1,000 withdrawals,
written with COPY as `store.record` leaves them, the running total set to their net). It measures:

- the progress request through HTTP (the running total, one aggregate over the goal's entries for
  the projection, the milestones);
- a contribution through HTTP (lock the goal, insert, move the total, check thresholds);
- page 1 of the goal's entries.

Writes bench/results/savings.json. Usage: `uv run python bench/savings_progress.py [--no-save]`.
"""

import asyncio
import random
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

from pfms_platform.testing.keys import TestKeys
from pfms_savings.models import Contribution

ENTRIES = 10_000
RUNS = 300
WARMUP = 30
WRITES = 100
DEADLINE_SECONDS = 240


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


async def measure(dsn: str, service: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    async with httpx.AsyncClient(base_url=service.url, timeout=10, headers=headers) as client:
        await service.ready()
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
        net = await seed(plain(dsn), user_id, uuid.UUID(goal_id))
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


def main(save: bool) -> None:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("savings") as run:
        dsn = database(run.stack, "savings")
        with serve("savings", run, database_url=dsn) as service:
            load_before = load_average()
            timings = asyncio.run(asyncio.wait_for(measure(dsn, service, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "savings goal progress with 10,000 contributions",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "data": {"entries_of_the_goal": ENTRIES, "entries_of_another_goal": ENTRIES, "withdrawals": ENTRIES // 10},
        **timings,
    }
    write_results("savings", result, save=save)


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
