"""Benchmark: 1,000 concurrent card authorisations against 10 wallets, and one authorisation's latency.

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh accounts database and runs
the real service (`pfms-accounts serve`, uvicorn) as a separate process; the webhooks are signed as the
sandbox issuer signs them (`card_sandbox_secret`).

- Concurrent: one user opens 10 wallets of 1,000.00 USD with one card each (monthly limit 3,000),
  then 1,000 authorisation webhooks go at once (100 connections; a random card, 1 to 400 USD), plus
  100 redeliveries of already-sent ones mixed in. Every authorisation is decided under its wallet's
  row lock, so some are declined (`insufficient_funds`), none may overdraw, and a redelivery books
  nothing. Reported: wall time, authorisations per second, latency percentiles, approved/declined,
  and the checks (approved spends booked exactly once, each wallet's money = 1,000 - its approved
  spends, no wallet below zero, every currency's postings summing to zero, one outbox event per
  approved spend).
- Sequential: 300 authorisations one after another on an idle service (after 30 warm-up), timed over
  HTTP: the latency an issuer sees.

Writes bench/results/accounts_cards.json. Usage: `uv run python bench/accounts_cards.py [--no-save]`.
"""

import asyncio
import random
import time
import uuid
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

from pfms_accounts.issuer import SandboxIssuer, sandbox_payload
from pfms_platform.testing.keys import TestKeys

WALLETS = 10
OPENING = Decimal("1000.00")
AUTHORISATIONS = 1_000
REDELIVERIES = 100
CONNECTIONS = 100
RUNS = 300
WARMUP = 30
DEADLINE_SECONDS = 300
SECRET = "bench-sandbox-secret"
WEBHOOK = "/api/v1/accounts/cards/webhooks/sandbox"


async def cards(client: httpx.AsyncClient, dsn: str, opening: str, count: int) -> list[tuple[str, str]]:
    """(wallet id, card token) for `count` new wallets with a card each."""
    made = []
    for i in range(count):
        wallet = await client.post(
            "/api/v1/accounts", json={"name": f"W{i}", "type": "wallet", "currency": "USD", "opening_balance": opening}
        )
        wallet.raise_for_status()
        wallet_id = wallet.json()["data"]["id"]
        card = await client.post(f"/api/v1/accounts/{wallet_id}/cards", json={"limit_per_month": "3000"})
        card.raise_for_status()
        made.append((wallet_id, card.json()["data"]["id"]))
    conn = await asyncpg.connect(dsn)
    try:
        tokens = {str(r["id"]): r["token"] for r in await conn.fetch("SELECT id, token FROM cards")}
    finally:
        await conn.close()
    return [(wallet_id, tokens[card_id]) for wallet_id, card_id in made]


async def concurrent(client: httpx.AsyncClient, dsn: str) -> dict[str, Any]:
    issuer = SandboxIssuer(SECRET)
    wallets = await cards(client, dsn, "1000", WALLETS)
    rng = random.Random(17)
    bodies = [
        sandbox_payload(f"bench-{i}", rng.choice(wallets)[1], str(rng.randint(1, 400)), "USD", "Bench shop")
        for i in range(AUTHORISATIONS)
    ]
    deliveries = bodies + rng.sample(bodies, REDELIVERIES)
    rng.shuffle(deliveries)
    latencies: list[float] = []

    retries: list[str] = []

    async def one(body: bytes) -> str:
        """A dropped connection is delivered again, as an issuer does: the same authorisation id, booked once."""
        started = time.perf_counter()
        for attempt in range(3):
            try:
                response = await client.post(WEBHOOK, content=body, headers=issuer.sign(body))
                break
            except httpx.TransportError as exc:
                retries.append(type(exc).__name__)
                if attempt == 2:
                    raise
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        decision: str = response.json()["data"]["decision"]
        return decision

    started = time.perf_counter()
    decisions = await asyncio.gather(*(one(b) for b in deliveries))
    seconds = time.perf_counter() - started
    conn = await asyncpg.connect(dsn)
    try:
        approved = await conn.fetch("SELECT account_id, amount FROM card_authorisations WHERE approved")
        recorded = await conn.fetchval("SELECT count(*) FROM card_authorisations")
        entries = await conn.fetchval("SELECT count(*) FROM journal_entries WHERE source_ref LIKE 'card:%'")
        events = await conn.fetchval("SELECT count(*) FROM outbox WHERE routing_key = 'account.transaction_imported'")
        balances = {
            str(r["id"]): r["balance"]
            for r in await conn.fetch("SELECT id, balance FROM accounts WHERE type = 'wallet'")
        }
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT currency FROM postings GROUP BY currency HAVING sum(amount) <> 0) s"
        )
    finally:
        await conn.close()
    spent: dict[str, Decimal] = {w: Decimal(0) for w in balances}
    for row in approved:
        spent[str(row["account_id"])] += row["amount"]
    consistent = (
        recorded == AUTHORISATIONS
        and entries == len(approved) == events
        and all(balances[w] == OPENING - spent[w] for w in balances)
        and min(balances.values()) >= 0
        and unbalanced == 0
    )
    return {
        "authorisations": AUTHORISATIONS,
        "redeliveries_mixed_in": REDELIVERIES,
        "wallets": WALLETS,
        "connections": CONNECTIONS,
        "seconds": round(seconds, 2),
        "per_second": round(len(deliveries) / seconds, 1),
        "approved": len(approved),
        "declined": AUTHORISATIONS - len(approved),
        "answers_including_redeliveries": {d: decisions.count(d) for d in ("approve", "decline")},
        "delivered_again_after_a_dropped_connection": len(retries),
        "latency": percentiles(latencies),
        "consistent": consistent,
        "checks": {
            "authorisations_recorded": recorded,
            "card_entries_booked": entries,
            "transaction_imported_events": events,
            "lowest_wallet": str(min(balances.values())),
            "currencies_not_summing_to_zero": unbalanced,
        },
    }


async def sequential(client: httpx.AsyncClient, dsn: str) -> dict[str, Any]:
    issuer = SandboxIssuer(SECRET)
    [(_, token)] = await cards(client, dsn, "1000000", 1)
    samples = []
    for i in range(RUNS + WARMUP):
        body = sandbox_payload(f"seq-{i}", token, "1.25", "USD", "Bench cafe")
        started = time.perf_counter()
        response = await client.post(WEBHOOK, content=body, headers=issuer.sign(body))
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200 and response.json()["data"]["decision"] == "approve", response.text
        if i >= WARMUP:
            samples.append(elapsed)
    return {"authorisation_http": percentiles(samples)}


async def measure(dsn: str, service: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    await service.ready()
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    results: dict[str, Any] = {}
    for part, call in (("concurrent", concurrent), ("sequential", sequential)):
        async with httpx.AsyncClient(
            base_url=service.url, timeout=120, headers=keys.auth(uuid.uuid4(), ttl=3600), limits=limits
        ) as client:
            results[part] = await call(client, dsn)
    return results


def main(save: bool) -> None:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("accounts") as run:
        dsn = database(run.stack, "accounts")
        with serve("accounts", run, database_url=dsn, env={"CARD_SANDBOX_SECRET": SECRET}) as service:
            load_before = load_average()
            timings = asyncio.run(asyncio.wait_for(measure(plain(dsn), service, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "accounts: 1,000 concurrent card authorisations against 10 wallets; one authorisation's latency",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        **timings,
    }
    write_results("accounts_cards", result, save=save)


if __name__ == "__main__":
    main(save=not arguments(__doc__).no_save)
