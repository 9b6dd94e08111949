"""Benchmark: 200 concurrent P2P payments between 20 people, each to the end of its saga.

Starts its own PostgreSQL, RabbitMQ and Redis on loopback and runs the real user and accounts services
(`pfms-user serve`, `pfms-accounts serve`) as separate processes; the 20 people are registered with the
user service by `user.created` events, so every payment looks its payee up by email over HTTP.

Each person opens one dollar wallet of 500.00 (so every payment lands by itself: the payee's only
account of the currency). Then 200 payments of 1 to 120 USD between random pairs are sent at once
over 20 connections (the service's database pool), each with its own Idempotency-Key and retried with
it after a 5xx (none is expected: a lock conflict is retried inside the service); some are refused for
insufficient funds. Reported: the sends per second and their latency (the hold on the
payer's ledger), the time until every accepted payment is `settled` (hold, `account.payment_sent`
through the broker, delivery on both ledgers), and the consistency checks (every balance equals its
postings, every currency sums to zero, no wallet below zero, every clearing account back at zero, the
wallets' money unchanged), and the deadlocks PostgreSQL detected in the accounts database
(`pg_stat_database`, read after the service's idle connections have flushed their statistics).

Writes bench/results/accounts_payments.json. Usage: `uv run python bench/accounts_payments.py [--no-save]`.
"""

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime
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

from pfms_contracts.identity import UserCreated
from pfms_platform.testing.helpers import publish_event
from pfms_platform.testing.keys import TestKeys

PEOPLE = 20
OPENING = Decimal("500.00")
PAYMENTS = 200
CONNECTIONS = 20
DEADLINE_SECONDS = 300
STATS_FLUSH_SECONDS = 11
"""An idle PostgreSQL backend reports its statistics (deadlocks among them) within 10 s."""


async def register(amqp_url: str, users: ServiceProcess, keys: TestKeys) -> list[tuple[uuid.UUID, str]]:
    people = [(uuid.uuid4(), f"bench-{i}@example.com") for i in range(PEOPLE)]
    for user_id, email in people:
        await publish_event(
            amqp_url,
            UserCreated(user_id=user_id, email=email, email_verified=True, created_at=datetime.now(UTC)),
            source="auth",
        )
    async with httpx.AsyncClient(base_url=users.url, timeout=10) as client:
        for user_id, _ in people:
            while (await client.get("/api/v1/user/profile", headers=keys.auth(user_id, ttl=3600))).status_code != 200:
                await asyncio.sleep(0.2)
    return people


async def payments(
    accounts: ServiceProcess, dsn: str, keys: TestKeys, people: list[tuple[uuid.UUID, str]]
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=accounts.url, timeout=60, limits=limits) as client:
        wallets = {}
        for user_id, _ in people:
            made = await client.post(
                "/api/v1/accounts",
                json={"name": "Wallet", "type": "wallet", "currency": "USD", "opening_balance": str(OPENING)},
                headers=keys.auth(user_id, ttl=3600),
            )
            made.raise_for_status()
            wallets[user_id] = made.json()["data"]["id"]
        rng = random.Random(5)
        sends = []
        for _ in range(PAYMENTS):
            (payer, _), (_, email) = rng.sample(people, 2)
            body = {"email": email, "from_account_id": wallets[payer], "amount": str(rng.randint(1, 120))}
            sends.append((payer, body))
        latencies: list[float] = []
        retried: list[str] = []

        async def one(payer: uuid.UUID, body: dict[str, str]) -> tuple[int, str | None]:
            headers = {**keys.auth(payer, ttl=3600), "Idempotency-Key": str(uuid.uuid4())}
            started = time.perf_counter()
            for _ in range(5):  # a 5xx rolled everything back: retried with the same key, as a client should
                response = await client.post("/api/v1/accounts/payments", json=body, headers=headers)
                if response.status_code < 500:
                    break
                retried.append(str(response.json()["error"]["code"]))
                await asyncio.sleep(0.5)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (201, 422), response.text
            return response.status_code, response.json()["data"]["id"] if response.status_code == 201 else None

        started = time.perf_counter()
        answers = await asyncio.gather(*(one(p, b) for p, b in sends))
        sent_seconds = time.perf_counter() - started
    accepted = [pid for code, pid in answers if pid is not None]
    conn = await asyncpg.connect(dsn)
    try:
        while await conn.fetchval("SELECT count(*) FROM payments WHERE status <> 'settled'"):
            await asyncio.sleep(0.05)
        settled_seconds = time.perf_counter() - started
        balances = [r["balance"] for r in await conn.fetch("SELECT balance FROM accounts WHERE type = 'wallet'")]
        clearing = [r["balance"] for r in await conn.fetch("SELECT balance FROM accounts WHERE type = 'clearing'")]
        drift = await conn.fetchval(
            "SELECT count(*) FROM accounts a WHERE a.balance <> "
            "(SELECT coalesce(sum(p.amount), 0) FROM postings p WHERE p.account_id = a.id)"
        )
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT currency FROM postings GROUP BY currency HAVING sum(amount) <> 0) s"
        )
        await asyncio.sleep(STATS_FLUSH_SECONDS)
        deadlocks = await conn.fetchval("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    finally:
        await conn.close()
    consistent = (
        drift == 0
        and unbalanced == 0
        and min(balances) >= 0
        and all(c == 0 for c in clearing)
        and sum(balances) == OPENING * PEOPLE
    )
    return {
        "payments": PAYMENTS,
        "people": PEOPLE,
        "connections": CONNECTIONS,
        "sent": len(accepted),
        "refused_insufficient_funds": sum(1 for code, _ in answers if code == 422),
        "send_seconds": round(sent_seconds, 2),
        "sends_per_second": round(PAYMENTS / sent_seconds, 1),
        "send_latency": percentiles(latencies),
        "retried_after_5xx": {code: retried.count(code) for code in sorted(set(retried))},
        "deadlocks_detected": deadlocks,
        "all_settled_after_seconds": round(settled_seconds, 2),
        "settled_per_second": round(len(accepted) / settled_seconds, 1),
        "consistent": consistent,
        "checks": {
            "balances_differing_from_their_postings": drift,
            "currencies_not_summing_to_zero": unbalanced,
            "lowest_wallet": str(min(balances)),
            "clearing_accounts_not_at_zero": sum(1 for c in clearing if c != 0),
            "money_of_the_wallets": str(sum(balances)),
        },
    }


async def measure(run: Any, users: ServiceProcess, accounts: ServiceProcess, dsn: str) -> dict[str, Any]:
    await users.ready()
    await accounts.ready()
    people = await register(run.stack.rabbitmq.url("/"), users, run.keys)
    return await payments(accounts, dsn, run.keys, people)


def main(save: bool) -> None:
    """Servers and both service processes are started here, measured in `measure`, and always stopped."""
    with servers("accounts-payments") as run:
        users_dsn = database(run.stack, "user")
        dsn = database(run.stack, "accounts")
        with serve("user", run, database_url=users_dsn, redis_db=2) as users:
            urls = json.dumps({"user": users.url})
            with serve("accounts", run, database_url=dsn, env={"SERVICE_URLS": urls}) as accounts:
                load_before = load_average()
                timings = asyncio.run(asyncio.wait_for(measure(run, users, accounts, plain(dsn)), DEADLINE_SECONDS))
    result = {
        "benchmark": "accounts: 200 concurrent P2P payments between 20 people, each to the end of its saga",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        **timings,
    }
    write_results("accounts_payments", result, save=save)


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
