"""Benchmark: a quote served from the Redis cache (target: p95 < 10 ms at the service).

Starts its own PostgreSQL, RabbitMQ and Redis on loopback, migrates a fresh market-data database,
runs the real service (`pfms-market-data serve`, uvicorn, offline provider) as a separate process
and measures over HTTP on loopback, so every figure includes the client's own overhead:

- the public route `GET /api/v1/market/stocks/AAPL` (JWT verified, served from the cache);
- the internal route `GET /internal/v1/market/quotes/EUR-USD?asset_class=forex` (service token);
- the same public route with 10 concurrent clients (throughput);
- a cache miss every time (the key deleted before each request): provider + Redis + asset_prices upsert.

"At the service" is read from the service's own latency histogram (`/metrics`, measured by its
middleware from the first byte in to the last byte out), before and after the cached run.

Writes bench/results/market-data.json. Usage: `uv run python bench/market_data_quote.py [--no-save]`.
"""

import asyncio
import sys
import time
import uuid
from typing import Any

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
    serve,
    servers,
    write_results,
)
from redis.asyncio import Redis

from pfms_platform.security import mint_service_token
from pfms_platform.settings import DEV_SERVICE_TOKEN_SECRET
from pfms_platform.testing.keys import TestKeys

RUNS = 2000
WARMUP = 100
MISSES = 300
CONCURRENCY = 10
TARGET_MS = 10.0
DEADLINE_SECONDS = 240


async def timed(client: httpx.AsyncClient, path: str, headers: dict[str, str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = await client.get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        samples.append(elapsed)
    return samples


async def histogram(client: httpx.AsyncClient, route: str) -> dict[float, float]:
    """Cumulative counts of the service's own latency histogram (measured inside the process) for `route`."""
    text = (await client.get("/metrics")).text
    counts: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith("http_request_duration_seconds_bucket{") and f'route="{route}"' in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            counts[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return counts


def at_service(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """Share of requests the service answered within 5 and 10 ms, and the bucket its p95 falls in."""
    delta = {le: after[le] - before.get(le, 0.0) for le in sorted(after)}
    total = delta[float("inf")]
    p95 = next(le for le, n in delta.items() if n >= 0.95 * total)
    return {
        "n": int(total),
        "share_within_5_ms": round(delta[0.005] / total, 4),
        "share_within_10_ms": round(delta[0.01] / total, 4),
        "p95_at_most_ms": p95 * 1000,
    }


async def measure(process: ServiceProcess, redis_url: str, keys: TestKeys) -> dict[str, Any]:
    user = keys.auth(uuid.uuid4(), ttl=3600)
    token = mint_service_token(DEV_SERVICE_TOKEN_SECRET, "investment", ttl_seconds=3600)
    service = {"Authorization": f"Bearer {token}"}
    public = "/api/v1/market/stocks/AAPL"
    internal = "/internal/v1/market/quotes/EUR-USD?asset_class=forex"
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=process.url, timeout=10, limits=limits) as client:
        await process.ready()
        await timed(client, public, user, WARMUP)
        await timed(client, internal, service, WARMUP)
        before = await histogram(client, "/api/v1/market/stocks/{symbol}")
        cpu_before = cpu_seconds(process.pid)
        cached = await timed(client, public, user, RUNS)
        cpu_per_request_ms = (cpu_seconds(process.pid) - cpu_before) / RUNS * 1000
        inside = at_service(before, await histogram(client, "/api/v1/market/stocks/{symbol}"))
        inside["service_cpu_ms_per_request"] = round(cpu_per_request_ms, 2)
        cached_internal = await timed(client, internal, service, RUNS)

        started = time.perf_counter()
        parallel = await asyncio.gather(*(timed(client, public, user, RUNS // CONCURRENCY) for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - started
        concurrent = [s for chunk in parallel for s in chunk]

        redis = Redis.from_url(redis_url)
        misses = []
        for _ in range(MISSES):
            await redis.delete("md:q:stock:MSFT")
            misses += await timed(client, "/api/v1/market/stocks/MSFT", user, 1)
        await redis.aclose()
    return {
        "cached_public_quote_at_the_service": inside,
        "cached_public_quote": percentiles(cached),
        "cached_internal_quote": percentiles(cached_internal),
        "cached_public_quote_10_concurrent": {
            **percentiles(concurrent),
            "requests_per_second": round(len(concurrent) / wall, 1),
        },
        "cache_miss_offline_provider": percentiles(misses),
    }


def main(save: bool) -> dict[str, Any]:
    """Servers and the service process are started here, measured in `measure`, and always stopped."""
    with servers("market") as run:
        dsn = database(run.stack, "market-data")
        with serve("market-data", run, database_url=dsn) as service:
            load_before = load_average()
            redis_url = run.stack.redis.url(1)
            timings = asyncio.run(asyncio.wait_for(measure(service, redis_url, run.keys), DEADLINE_SECONDS))
    result = {
        "benchmark": "market-data quote served from the Redis cache, over loopback HTTP",
        "measured_at": measured_at(),
        "machine": machine(load_before),
        "target": {"cached_p95_ms_below": TARGET_MS},
        **timings,
        "meets_target": {
            "at_the_service_p95": timings["cached_public_quote_at_the_service"]["p95_at_most_ms"] <= TARGET_MS,
            "client_side_public_p95": timings["cached_public_quote"]["p95_ms"] < TARGET_MS,
            "client_side_internal_p95": timings["cached_internal_quote"]["p95_ms"] < TARGET_MS,
        },
    }
    write_results("market-data", result, save=save)
    return result


if __name__ == "__main__":
    outcome = main(save=not arguments(__doc__).no_save)
    sys.exit(0 if outcome["meets_target"]["at_the_service_p95"] else 1)
