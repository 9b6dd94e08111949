"""Benchmark: analytics of a portfolio of 200 assets and 20,000 transactions, uncached (target < 100 ms).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh investment database, runs
the real service (`pfms-investment serve`, uvicorn) as a separate process, and gives one portfolio
(base USD) 200 assets (180 in USD, 20 in EUR), 20,000 transactions over five years (buys, partial
sells that never oversell, dividends, fees, a few splits), 60 days of daily prices per symbol from
`price.updated`, and the EUR/USD rates the service caches. The asset states are built by the
service's own code, as its writes maintain them. market-data is pointed at a closed port: everything
the analytics need is in the service's own tables, as in steady state. Then it measures:

- `analytics.analyse` alone (per-asset totals, the vectorised value walk, TWR and XIRR over five periods);
- the service path in this process (reading states, prices and rates, then the pure part), no HTTP;
- `GET /api/v1/portfolios/{id}/analytics` through HTTP; nothing is cached between requests;
- for reference, a full replay of every transaction (what a request cost before the states table).

It checks that the HTTP answer equals analytics computed from a full replay of the transactions.

Writes bench/results/investment.json. Usage: `uv run python bench/investment_analytics.py [--no-save]`.
"""

import asyncio
import json
import random
import statistics
import sys
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
    cpu_seconds,
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

from pfms_devservers import free_port
from pfms_investment import market, state_store, store
from pfms_investment.analytics import AssetMeta, analyse
from pfms_investment.evaluate import portfolio_analytics
from pfms_investment.lots import Method
from pfms_investment.returns import PERIODS, period_start
from pfms_investment.schemas import Analytics
from pfms_investment.state import rebuild
from pfms_investment.valuation import FxTable, Holding
from pfms_platform.db import Database
from pfms_platform.testing.keys import TestKeys

ASSETS = 200
TRANSACTIONS = 20_000
PRICE_DAYS = 60
RUNS = 20
WARMUP = 3
TARGET_MS = 100.0
DEADLINE_SECONDS = 400
STATS = ("p50", "p95", "max")


class Timer:
    """Wall and CPU time of each measured run (the first WARMUP runs are not kept)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.runs = 0

    def __enter__(self) -> "Timer":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        if self.runs >= WARMUP:
            self.wall.append((time.perf_counter() - self._wall) * 1000)
            self.cpu.append((time.process_time() - self._cpu) * 1000)
        self.runs += 1

    def summary(self) -> dict[str, float]:
        """Wall-clock percentiles and the median CPU time this process spent (what the machine's load
        does not inflate: an estimate of the wall time on an idle core)."""
        return {**percentiles(self.wall, stats=STATS), "cpu_p50_ms": round(statistics.median(self.cpu), 2)}


async def seed(dsn: str, user_id: uuid.UUID) -> uuid.UUID:
    """Rows as the API and the handlers write them, copied in bulk."""
    rng = random.Random(5)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=5 * 365)
    portfolio_id = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO portfolios (id, user_id, name, base_currency, cost_method, benchmark_symbol,"
            " benchmark_asset_class) VALUES ($1, $2, 'Bench', 'USD', 'fifo', 'SPY', 'stock')",
            portfolio_id,
            user_id,
        )
        assets = []
        for i in range(ASSETS):
            currency = "EUR" if i % 10 == 0 else "USD"
            kind = ["stock", "etf", "crypto", "bond", "mutual_fund"][i % 5]
            assets.append(
                (uuid.uuid4(), portfolio_id, user_id, kind, f"S{i:03d}", f"Asset {i}", f"Sector {i % 11}", currency)
            )
        await conn.copy_records_to_table(
            "assets",
            records=assets,
            columns=["id", "portfolio_id", "user_id", "asset_type", "symbol", "name", "sector", "currency"],
        )
        txns, per_asset = [], TRANSACTIONS // ASSETS
        for asset_id, *_ in assets:
            held, price = Decimal(0), Decimal(rng.randint(2000, 50000)) / 100
            days = sorted(start + timedelta(days=rng.randint(0, 5 * 365 - 1)) for _ in range(per_asset))
            for n, day in enumerate(days):
                price = max(Decimal(1), (price * Decimal(rng.uniform(0.9, 1.12))).quantize(Decimal("0.0001")))
                roll = rng.random()
                if held == 0 or roll < 0.55:
                    kind, quantity = "buy", Decimal(rng.randint(1, 4000)) / 100
                    held += quantity
                elif roll < 0.85:
                    kind, quantity = "sell", (held * Decimal(rng.uniform(0.1, 0.6))).quantize(Decimal("0.00000001"))
                    held -= quantity
                elif roll < 0.95:
                    kind, quantity = "dividend", Decimal(0)
                elif roll < 0.99 or n < 10:
                    kind, quantity = "fee", Decimal(0)
                else:
                    kind, quantity = "split", Decimal(2)
                    held = (held * 2).quantize(Decimal("0.00000001"))
                amount = Decimal(rng.randint(100, 5000)) / 100 if kind in ("dividend", "fee") else Decimal(0)
                txn_price = price if kind in ("buy", "sell") else Decimal(0)
                fees = Decimal(rng.randint(0, 999)) / 100 if kind in ("buy", "sell") else Decimal(0)
                txns.append(
                    (uuid.uuid4(), user_id, portfolio_id, asset_id, kind, quantity, txn_price, amount, fees, day)
                )
        txns.sort(key=lambda t: t[9])
        await conn.copy_records_to_table(
            "investment_transactions",
            records=txns,
            columns=[
                "id",
                "user_id",
                "portfolio_id",
                "asset_id",
                "transaction_type",
                "quantity",
                "price",
                "amount",
                "fees",
                "trade_date",
            ],
        )
        prices = []
        for _, _, _, kind, symbol, *_ in assets:
            cls = "crypto" if kind == "crypto" else "stock"
            level = Decimal(rng.randint(2000, 50000)) / 100
            for d in range(PRICE_DAYS):
                day = today - timedelta(days=PRICE_DAYS - 1 - d)
                at = datetime(day.year, day.month, day.day, 21, tzinfo=UTC)
                prices.append((symbol, cls, day, level, "EUR" if symbol.endswith("0") else "USD", at, "bench"))
        for d in range(5 * 365 + 30):
            day = today - timedelta(days=5 * 365 + 29 - d)
            at = datetime(day.year, day.month, day.day, 21, tzinfo=UTC)
            prices.append(("SPY", "stock", day, Decimal(400 + d) / 1, "USD", at, "bench"))
        await conn.copy_records_to_table(
            "daily_prices",
            records=prices,
            columns=["symbol", "asset_class", "day", "price", "currency", "as_of", "source"],
        )
        eur_days = sorted({t[9] for t in txns} | {today})
        rates = [("EUR", "USD", d, Decimal("1.05") + Decimal(i % 20) / 100, "bench") for i, d in enumerate(eur_days)]
        await conn.copy_records_to_table(
            "cached_fx_rates", records=rates, columns=["base", "quote", "day", "rate", "source"]
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return portfolio_id


async def build_states(dsn: str, user_id: uuid.UUID, portfolio_id: uuid.UUID) -> float:
    """The asset states and packed price series the service's writes keep, built by its own code; returns
    the seconds it took."""
    db = Database(dsn)
    started = time.perf_counter()
    async with db.sessions() as session, session.begin():
        portfolio = await store.portfolio(session, user_id, portfolio_id)
        assets = await store.assets_of(session, portfolio_id)
        await state_store.refresh(session, portfolio, Method.FIFO, [a.id for a in assets])
        keys = {(a.symbol, "crypto" if a.asset_type == "crypto" else "stock") for a in assets}
        await market.pack_prices(session, keys | {("SPY", "stock")})
    elapsed = time.perf_counter() - started
    await db.dispose()
    conn = await asyncpg.connect(plain(dsn))
    try:
        await conn.execute("VACUUM ANALYZE")  # settle the bulk load now rather than under the measurements
    finally:
        await conn.close()
    return elapsed


async def time_pure_and_service(dsn: str, user_id: uuid.UUID, portfolio_id: uuid.UUID) -> dict[str, Any]:
    db = Database(dsn)
    today = datetime.now(UTC).date()
    async with db.sessions() as session:
        portfolio = await store.portfolio(session, user_id, portfolio_id)
        assets = await store.assets_of(session, portfolio_id)
        holdings = await state_store.holdings(session, portfolio)
        histories = await store.histories(session, portfolio_id)
        keys = {(a.symbol, "crypto" if a.asset_type == "crypto" else "stock") for a in assets}
        prices = await state_store.price_series(session, keys, today)
        rates = await store.fx_rates(session, "USD", {"EUR"})
        first = min(d for h in holdings.values() if (d := h.first_day) is not None)
        starts = [period_start(p, today, first) for p in PERIODS]
        _, bench = await store.prices_on(session, ("SPY", "stock"), [*starts, today])
    metas = [AssetMeta(a.id, a.symbol, a.name, a.asset_type, a.sector, a.currency) for a in assets]
    series = [prices[(a.symbol, "crypto" if a.asset_type == "crypto" else "stock")] for a in assets]
    states = [holdings[a.id] for a in assets]
    pure, replayed, service = Timer(), Timer(), Timer()
    result: dict[str, Any] = {}
    for _ in range(RUNS + WARMUP):
        with pure:
            result = analyse("USD", Method.FIFO, metas, states, series, FxTable.packed("USD", rates), today, bench)
    reference: dict[str, Any] = {}
    for _ in range(5 + WARMUP):
        with replayed:
            full = [Holding.of(rebuild(histories.get(a.id, []), Method.FIFO)[0]) for a in assets]
            reference = analyse("USD", Method.FIFO, metas, full, series, FxTable.packed("USD", rates), today, bench)
    assert reference == result, "analytics from the states differ from a full replay"
    for _ in range(RUNS + WARMUP):
        with service:
            async with db.sessions() as session:
                await portfolio_analytics(session, None, portfolio, today)
    await db.dispose()
    summary: dict[str, Any] = {
        k: str(result[k]) for k in ("current_value", "realized_pnl", "unrealized_pnl", "total_return")
    }
    summary["returns"] = {r["period"]: {"twr": str(r["twr"]), "xirr": str(r["xirr"])} for r in result["returns"]}
    return {
        "pure_function": pure.summary(),
        "service_path_uncached": service.summary(),
        "full_replay_for_reference": replayed.summary(),
        "sample_answer": summary,
        "_reference": Analytics.model_validate(reference).model_dump(mode="json"),
    }


async def time_http(
    client: httpx.AsyncClient, headers: dict[str, str], portfolio_id: uuid.UUID, reference: dict[str, Any], pid: int
) -> dict[str, float]:
    """Wall time per request at the client, and the CPU time the service process spent per request."""
    samples: list[float] = []
    server_cpu = 0.0
    for i in range(RUNS + WARMUP):
        cpu_before, started = cpu_seconds(pid), time.perf_counter()
        response = await client.get(f"/api/v1/portfolios/{portfolio_id}/analytics", headers=headers)
        if i >= WARMUP:
            samples.append((time.perf_counter() - started) * 1000)
            server_cpu += cpu_seconds(pid) - cpu_before
        response.raise_for_status()
        data = response.json()["data"]
        assert data["stale"] == [], data["stale"]
        assert {k: v for k, v in data.items() if k not in ("stale", "benchmark")} == {
            k: v for k, v in reference.items() if k not in ("stale", "benchmark")
        }, "the service's answer differs from a full replay"
    return {**percentiles(samples, stats=STATS), "service_process_cpu_mean_ms": round(server_cpu / RUNS * 1000, 2)}


async def measure(dsn: str, process: ServiceProcess, keys: TestKeys) -> dict[str, Any]:
    user_id = uuid.uuid4()
    headers = keys.auth(user_id, ttl=3600)
    portfolio_id = await seed(plain(dsn), user_id)
    build_seconds = await build_states(dsn, user_id, portfolio_id)
    in_process = await time_pure_and_service(dsn, user_id, portfolio_id)
    reference = in_process.pop("_reference")
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        await process.ready()
        http = await time_http(client, headers, portfolio_id, reference, process.pid)
    return {**in_process, "http_uncached": http, "build_all_states_seconds": round(build_seconds, 2)}


def main(save: bool) -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("investment") as run:
        dsn = database(run.stack, "investment")
        env = {
            "SNAPSHOT_ENABLED": "false",
            "SERVICE_URLS": json.dumps({"market-data": f"http://127.0.0.1:{free_port()}"}),
        }
        with serve("investment", run, database_url=dsn, env=env) as service:
            load_before = load_average()
            timings = asyncio.run(asyncio.wait_for(measure(dsn, service, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "investment portfolio analytics, uncached",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "data": {
            "assets": ASSETS,
            "transactions": TRANSACTIONS,
            "years_of_history": 5,
            "daily_prices_per_symbol": PRICE_DAYS,
            "currencies": ["USD", "EUR"],
            "periods": ["1M", "3M", "YTD", "1Y", "ALL"],
            "benchmark_symbol": "SPY",
        },
        "target": {"uncached_ms_below": TARGET_MS},
        **timings,
        "meets_target": {
            "service_path_p50": timings["service_path_uncached"]["p50_ms"] < TARGET_MS,
            "http_p50": timings["http_uncached"]["p50_ms"] < TARGET_MS,
            "http_p95": timings["http_uncached"]["p95_ms"] < TARGET_MS,
        },
    }
    write_results("investment", result, save=save)
    return result


if __name__ == "__main__":
    outcome = main(save=not arguments(__doc__).no_save)
    sys.exit(0 if outcome["meets_target"]["http_p50"] else 1)
