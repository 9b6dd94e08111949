"""Issue 6 benchmark of the group service, on real servers this script starts itself (loopback only).

`GET /api/v1/groups/{id}/balances` for a group of 1,000 members and 100,000 expenses (goal: < 1 s):
net balance per member (its running totals, one row per member) and the simplified debts (greedy,
at most n-1 transfers), timed request by request; then the same group with simplification off
(pairwise debts, netted, ordered and paged in PostgreSQL over the per-expense debt ledger, 100 a
page: the first page of one member's pairs, and the first and last page of every pair).

The ledger is seeded with COPY, built with the service's own split and debt functions: every
expense split equally among 2-8 random members, one payer (one expense in ten has two), plus
2,000 confirmed settlements, and the running totals per member and per pair the service keeps as
it writes them. The service runs as its own process (`pfms-group serve`: uvicorn).

    uv run python bench/group_balances.py [--members 1000] [--expenses 100000] [--requests 30] [--no-save]
"""

import argparse
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
    machine,
    measured_at,
    percentiles,
    plain,
    serve,
    servers,
    write_results,
)

from pfms_group.splits import Participant, SplitType, debts, from_minor, rescale, split
from pfms_platform.testing.keys import TestKeys

GOALS = {"balances_p95_ms": 1000.0}


async def seed(dsn: str, members: int, expenses: int) -> tuple[uuid.UUID, uuid.UUID]:
    """One USD group with `members` active members and `expenses` expenses; returns (group, admin)."""
    rng = random.Random(6)
    group = uuid.uuid4()
    people = sorted(uuid.uuid4() for _ in range(members))
    start = date(2024, 1, 1)
    expense_rows: list[tuple[Any, ...]] = []
    split_rows: list[tuple[Any, ...]] = []
    payer_rows: list[tuple[Any, ...]] = []
    debt_rows: list[tuple[Any, ...]] = []
    totals = {p: [0, 0, 0, 0] for p in people}  # paid, share, settled out, settled in (minor units)
    pairs: dict[tuple[uuid.UUID, uuid.UUID], int] = {}  # what the lower id owes the higher (minor units)

    def owes(debtor: uuid.UUID, creditor: uuid.UUID, units: int) -> None:
        key, sign = ((debtor, creditor), 1) if debtor < creditor else ((creditor, debtor), -1)
        pairs[key] = pairs.get(key, 0) + sign * units

    for n in range(expenses):
        expense_id = uuid.uuid4()
        total = rng.randint(100, 50_000)
        sharing = rng.sample(people, rng.randint(2, 8))
        shares = split(total, SplitType.EQUAL, [Participant(p) for p in sharing], "USD")
        payers = rng.sample(sharing, 2 if n % 10 == 0 else 1)
        paid = rescale({p: rng.randint(1, 3) for p in payers}, total)
        expense_rows.append(
            (
                expense_id,
                group,
                payers[0],
                "expense",
                f"Expense {n}",
                start + timedelta(days=rng.randint(0, 700)),
                from_minor(total, "USD"),
                "USD",
                Decimal(1),
                from_minor(total, "USD"),
                "equal",
            )
        )
        for u, v in paid.items():
            totals[u][0] += v
        for u, v in shares.items():
            totals[u][1] += v
        split_rows.extend((uuid.uuid4(), expense_id, group, u, from_minor(v, "USD")) for u, v in shares.items())
        payer_rows.extend((uuid.uuid4(), expense_id, group, u, from_minor(v, "USD")) for u, v in paid.items())
        for (d, c), v in debts(shares, paid).items():
            debt_rows.append((expense_id, d, c, group, from_minor(v, "USD")))
            owes(d, c, v)
    settlements = []
    for _ in range(2000):
        a, b = rng.sample(people, 2)
        units = rng.randint(100, 5000)
        totals[a][2] += units
        totals[b][3] += units
        owes(b, a, units)  # a paid b: b owes a
        settlements.append(
            (
                uuid.uuid4(),
                group,
                a,
                b,
                from_minor(units, "USD"),
                "USD",
                "completed",
                date(2025, 1, 1),
                a,
            )
        )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO finance_groups (id, name, currency, created_by) VALUES ($1, 'Bench', 'USD', $2)",
            group,
            people[0],
        )
        await conn.copy_records_to_table(
            "group_members",
            records=[
                (uuid.uuid4(), group, p, "admin" if i == 0 else "member", "active", datetime.now(UTC))
                for i, p in enumerate(people)
            ],
            columns=["id", "group_id", "user_id", "role", "status", "joined_at"],
        )
        await conn.copy_records_to_table(
            "group_expenses",
            records=expense_rows,
            columns=[
                "id",
                "group_id",
                "created_by",
                "kind",
                "description",
                "expense_date",
                "amount",
                "currency",
                "fx_rate",
                "group_amount",
                "split_type",
            ],
        )
        await conn.copy_records_to_table(
            "expense_splits", records=split_rows, columns=["id", "expense_id", "group_id", "user_id", "share_amount"]
        )
        await conn.copy_records_to_table(
            "expense_payers", records=payer_rows, columns=["id", "expense_id", "group_id", "user_id", "paid_amount"]
        )
        await conn.copy_records_to_table(
            "expense_debts", records=debt_rows, columns=["expense_id", "debtor_id", "creditor_id", "group_id", "amount"]
        )
        await conn.copy_records_to_table(
            "settlements",
            records=settlements,
            columns=[
                "id",
                "group_id",
                "from_user_id",
                "to_user_id",
                "amount",
                "currency",
                "status",
                "settlement_date",
                "recorded_by",
            ],
        )
        await conn.copy_records_to_table(
            "group_balances",
            records=[(group, p, *(from_minor(v, "USD") for v in t)) for p, t in totals.items()],
            columns=["group_id", "user_id", "paid", "share", "settled_out", "settled_in"],
        )
        await conn.copy_records_to_table(
            "group_pair_balances",
            records=[(group, low, high, from_minor(v, "USD")) for (low, high), v in pairs.items()],
            columns=["group_id", "low_id", "high_id", "net"],
        )
        await conn.execute("VACUUM ANALYZE")
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("expense_splits", "expense_payers", "expense_debts")
        }
        print("seeded", counts, file=sys.stderr)
    finally:
        await conn.close()
    return group, people[0]


async def timed(client: httpx.AsyncClient, url: str, headers: dict[str, str], n: int) -> dict[str, Any]:
    for _ in range(3):
        (await client.get(url, headers=headers)).raise_for_status()
    samples = []
    body: dict[str, Any] = {}
    for _ in range(n):
        began = time.perf_counter()
        response = await client.get(url, headers=headers)
        samples.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
        body = response.json()["data"]
    nets = sum(Decimal(m["net"]) for m in body["members"])
    assert nets == 0, f"balances add up to {nets}"
    return {
        "requests": n,
        "members": len(body["members"]),
        "debts": len(body["debts"]),
        **({"debts_total": body["debts_page"]["total"]} if body.get("debts_page") else {}),
        "nonzero_members": sum(1 for m in body["members"] if Decimal(m["net"])),
        **percentiles(samples, digits=1, stats=("p50", "p95", "max", "mean"), count=False, rank="nearest"),
    }


async def measure(
    service: ServiceProcess, keys: TestKeys, dsn: str, members: int, expenses: int, n: int
) -> dict[str, Any]:
    began = time.perf_counter()
    group, admin = await seed(dsn, members, expenses)
    seeded = round(time.perf_counter() - began, 1)
    headers = keys.auth(admin)
    url = f"/api/v1/groups/{group}/balances"
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
        await service.ready()
        simplified = await timed(client, url, headers, n)
        patched = await client.patch(f"/api/v1/groups/{group}", json={"simplify_debts": False}, headers=headers)
        patched.raise_for_status()
        few = max(5, n // 3)
        pairwise = await timed(client, f"{url}?member={admin}&limit=100", headers, few)
        first = await timed(client, f"{url}?limit=100", headers, few)
        last_page = -(-first["debts_total"] // 100)
        last = await timed(client, f"{url}?limit=100&page={last_page}", headers, few)
    return {
        "group": {"members": members, "expenses": expenses, "confirmed_settlements": 2000, "seed_seconds": seeded},
        "balances_simplified": simplified,
        "balances_pairwise_one_member_page_1": pairwise,
        "balances_pairwise_every_pair_page_1": first,
        "balances_pairwise_every_pair_last_page": {"page": last_page, **last},
    }


def main(members: int, expenses: int, requests: int) -> dict[str, Any]:
    with servers("group") as run:
        url = database(run.stack, "group")
        run.stack.rabbitmq.add_vhost("bench")
        env = {"SCHEDULER_ENABLED": "false"}
        with serve("group", run, database_url=url, vhost="bench", env=env, log=True) as service:
            figures = asyncio.run(measure(service, run.keys, plain(url), members, expenses, requests))
    return {
        "measured_at": measured_at(),
        "machine": machine(),
        "goals": GOALS,
        **figures,
        "met": {"balances_p95_ms": figures["balances_simplified"]["p95_ms"] < GOALS["balances_p95_ms"]},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--expenses", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    args = arguments(__doc__, parser)
    result = main(args.members, args.expenses, args.requests)
    full_size = (args.members, args.expenses) == (1000, 100_000)
    write_results("group", result, save=full_size and not args.no_save)
