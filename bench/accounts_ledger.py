"""Benchmark: 1,000 concurrent transfers against 10 wallets, and balance reads of an account with 100,000 postings.

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh accounts database and runs
the real service (`pfms-accounts serve`, uvicorn) as a separate process.

- Transfers: one user opens 10 wallets of 1,000.00 USD each through the API, then fires 1,000
  transfers at once (random pairs, 1 to 400 USD, each with its own Idempotency-Key; 100 connections,
  a dropped connection retried with the same key) — some are refused for insufficient funds, none
  may overdraw. Reported: wall time, transfers per
  second, latency percentiles, accepted/refused, and the consistency checks (every balance equals the
  sum of its postings, no wallet below zero, the money of the 10 wallets unchanged, every currency's
  postings summing to zero).
- Reads: another account gets 100,000 postings (100,000 transfer entries with a second account,
  written with COPY as `ledger.book` leaves them); `GET /api/v1/accounts/{id}` (the running balance),
  page 1 of its postings and a 30-day net worth are timed over HTTP.

Writes bench/results/accounts.json. Usage: `uv run python bench/accounts_ledger.py [--no-save]`.
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

WALLETS = 10
OPENING = Decimal("1000.00")
TRANSFERS = 1_000
CONNECTIONS = 100
POSTINGS = 100_000
RUNS = 300
WARMUP = 30
DEADLINE_SECONDS = 300


async def transfers(client: httpx.AsyncClient, dsn: str, _user: uuid.UUID) -> dict[str, Any]:
    wallets = []
    for i in range(WALLETS):
        made = await client.post(
            "/api/v1/accounts", json={"name": f"W{i}", "type": "wallet", "currency": "USD", "opening_balance": "1000"}
        )
        made.raise_for_status()
        wallets.append(made.json()["data"]["id"])
    rng = random.Random(11)
    bodies = []
    for _ in range(TRANSFERS):
        source, target = rng.sample(wallets, 2)
        bodies.append({"from_account_id": source, "to_account_id": target, "amount": str(rng.randint(1, 400))})
    latencies: list[float] = []
    retries: list[str] = []

    async def one(body: dict[str, str]) -> int:
        """A dropped connection is retried with the same Idempotency-Key: what a client is meant to do."""
        key = {"Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        for attempt in range(3):
            try:
                response = await client.post("/api/v1/accounts/transfers", json=body, headers=key)
                break
            except httpx.TransportError as exc:
                retries.append(type(exc).__name__)
                if attempt == 2:
                    raise
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (201, 422), response.text
        return response.status_code

    started = time.perf_counter()
    codes = await asyncio.gather(*(one(b) for b in bodies))
    seconds = time.perf_counter() - started
    conn = await asyncpg.connect(dsn)
    try:
        balances = {
            str(r["id"]): r["balance"]
            for r in await conn.fetch("SELECT id, balance FROM accounts WHERE type = 'wallet' AND name LIKE 'W%'")
        }
        drift = await conn.fetchval(
            "SELECT count(*) FROM accounts a WHERE a.balance <> "
            "(SELECT coalesce(sum(p.amount), 0) FROM postings p WHERE p.account_id = a.id)"
        )
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT currency FROM postings GROUP BY currency HAVING sum(amount) <> 0) s"
        )
    finally:
        await conn.close()
    consistent = (
        drift == 0 and unbalanced == 0 and min(balances.values()) >= 0 and sum(balances.values()) == OPENING * WALLETS
    )
    return {
        "transfers": TRANSFERS,
        "wallets": WALLETS,
        "connections": CONNECTIONS,
        "seconds": round(seconds, 2),
        "per_second": round(TRANSFERS / seconds, 1),
        "accepted": codes.count(201),
        "refused_insufficient_funds": codes.count(422),
        "retried_with_the_same_key_after_a_dropped_connection": len(retries),
        "latency": percentiles(latencies),
        "consistent": consistent,
        "checks": {
            "balances_differing_from_their_postings": drift,
            "currencies_not_summing_to_zero": unbalanced,
            "lowest_wallet": str(min(balances.values())),
            "money_of_the_wallets": str(sum(balances.values())),
        },
    }


async def seed(dsn: str, user_id: uuid.UUID, account_id: uuid.UUID, other_id: uuid.UUID) -> Decimal:
    """100,000 postings on the account (and as many on its counter-party), spread over the last 174 days."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    entries, postings = [], []
    balance = other = Decimal(0)
    for i in range(POSTINGS):
        entry = uuid.uuid4()
        at = now - timedelta(seconds=(POSTINGS - i) * 150)
        amount = Decimal(rng.randint(-5000, 5000) or 1) / 100
        balance += amount
        other -= amount
        entries.append((entry, user_id, "transfer", at))
        postings.append((entry, account_id, user_id, "USD", amount, balance, at))
        postings.append((entry, other_id, user_id, "USD", -amount, other, at))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "journal_entries", records=entries, columns=["id", "user_id", "kind", "created_at"]
        )
        await conn.copy_records_to_table(
            "postings",
            records=postings,
            columns=["entry_id", "account_id", "user_id", "currency", "amount", "balance_after", "created_at"],
        )
        update = "UPDATE accounts SET balance = $1, postings_count = $2 WHERE id = $3"
        await conn.execute(update, balance, POSTINGS, account_id)
        await conn.execute(update, other, POSTINGS, other_id)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return balance


async def timed(call: Any) -> dict[str, float]:
    samples = []
    for i in range(RUNS + WARMUP):
        started = time.perf_counter()
        response = await call()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.text
        if i >= WARMUP:
            samples.append(elapsed)
    return percentiles(samples)


async def reads(client: httpx.AsyncClient, dsn: str, user_id: uuid.UUID) -> dict[str, Any]:
    ids = []
    for name in ("Busy", "Counter-party"):
        made = await client.post("/api/v1/accounts", json={"name": name, "type": "checking", "currency": "USD"})
        made.raise_for_status()
        ids.append(made.json()["data"]["id"])
    expected = await seed(dsn, user_id, uuid.UUID(ids[0]), uuid.UUID(ids[1]))
    path = f"/api/v1/accounts/{ids[0]}"
    first = (await client.get(path)).json()["data"]
    assert Decimal(first["balance"]) == expected, (first, expected)
    return {
        "postings_of_the_account": POSTINGS,
        "postings_in_the_database": 2 * POSTINGS,
        "balance_http": await timed(lambda: client.get(path)),
        "postings_page_http": await timed(lambda: client.get(f"{path}/postings", params={"limit": 20})),
        "net_worth_30_days_http": await timed(lambda: client.get("/api/v1/accounts/net-worth")),
    }


async def measure(dsn: str, service: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    await service.ready()
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    results: dict[str, Any] = {}
    for part, call in (("transfers", transfers), ("reads", reads)):
        user_id = uuid.uuid4()
        async with httpx.AsyncClient(
            base_url=service.url, timeout=60, headers=keys.auth(user_id, ttl=3600), limits=limits
        ) as client:
            results[part] = await call(client, dsn, user_id)
    return results


def main(save: bool) -> None:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("accounts") as run:
        dsn = database(run.stack, "accounts")
        with serve("accounts", run, database_url=dsn) as service:
            load_before = load_average()
            timings = asyncio.run(asyncio.wait_for(measure(plain(dsn), service, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "accounts: 1,000 concurrent transfers against 10 wallets; balance reads with 100,000 postings",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        **timings,
    }
    write_results("accounts", result, save=save)


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
