"""Issue 3 benchmark: authenticated `GET /api/v1/user/profile`, straight at the user service and
through the gateway, in one run on this machine; plus login latency (argon2id is slow on purpose).

Starts its own servers, auth, user and the local gateway (fresh data under a temp folder), signs
up 64 users, then drives 64 keep-alive connections with wrk (each connection cycling through the
users' tokens) for a fixed time against each target. Writes bench/results/identity.json and
rewrites the figures between the `bench:identity` markers of the README.

    uv run python bench/identity.py [--seconds 15] [--connections 64] [--no-save]
"""

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from harness import (
    PASSWORD,
    Servers,
    arguments,
    database,
    fleet,
    load_average,
    measured_at,
    need_wrk,
    servers,
    sign_up,
    write_results,
    wrk,
)

from pfms_auth.settings import Settings as AuthSettings
from pfms_platform.catalogue import service

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"gateway_rps": 1250, "gateway_p99_ms": 100, "gateway_share_of_direct": 0.70}

WRK_SCRIPT = """
local tokens = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/user/profile", {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]})
end
"""


async def wait_profiles(client: httpx.AsyncClient, tokens: list[str]) -> None:
    deadline = time.monotonic() + 60
    for token in tokens:
        while (
            await client.get("/api/v1/user/profile", headers={"Authorization": f"Bearer {token}"})
        ).status_code != 200:
            assert time.monotonic() < deadline, "profiles were not created from user.created"
            await asyncio.sleep(0.1)


async def login_latency(client: httpx.AsyncClient, samples: int) -> dict[str, float]:
    body = {"email": f"latency-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
    await client.post("/api/v1/auth/register", json=body)
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        response = await client.post("/api/v1/auth/login", json=body)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.text
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "samples": samples,
    }


async def run(bench: Servers, seconds: int, connections: int, workers: int) -> dict[str, Any]:
    """auth, user (its databases made by `main`) and the local gateway on `bench`'s servers, then the load."""
    load_before = load_average()
    services = (service("auth"), service("user"))
    # The per-user limiter stays on (its Redis round trip is part of the cost), with a quota
    # a 64-user load test does not exhaust.
    # Each worker's profile reader holds as many connections as the load has requests in flight, so no
    # request queues for a connection.
    extra_env = {
        "PFMS_USER_USER_RATE_LIMIT_PER_MINUTE": "100000000",
        "PFMS_USER_WORKERS": str(workers),
        "PFMS_USER_READ_POOL_SIZE": str(-(-connections // workers)),
    }
    async with fleet(bench, services, extra_env=extra_env) as running:
        async with httpx.AsyncClient(base_url=running.gateway_url, timeout=30) as client:
            tokens = await sign_up(client, connections)
            await wait_profiles(client, tokens)
            login = await login_latency(client, 30)
        script = bench.folder / "tokens.lua"
        script.write_text(WRK_SCRIPT % ", ".join(json.dumps(t) for t in tokens))
        wrk(running.url("user") + "/api/v1/user/profile", script, 3, connections)  # warm-up
        direct = wrk(running.url("user") + "/api/v1/user/profile", script, seconds, connections)
        through = wrk(running.gateway_url + "/api/v1/user/profile", script, seconds, connections)
    argon = AuthSettings()
    return {
        "benchmark": "GET /api/v1/user/profile, authenticated, direct vs through the gateway",
        "date": measured_at(),
        "machine": f"{platform.machine()}, {subprocess.getoutput('nproc')} cores, Python {platform.python_version()}",
        "load_average_1m_before_after": [load_before[0], load_average()[0]],
        "load": f"wrk -t2 -c{connections} -d{seconds}s, {connections} users' tokens in rotation",
        "user_service_workers": workers,
        "direct": direct,
        "gateway": through,
        "gateway_share_of_direct": round(through["rps"] / direct["rps"], 3),
        "login": {
            **login,
            "argon2id": {
                "memory_kib": argon.argon2_memory_cost,
                "time_cost": argon.argon2_time_cost,
                "parallelism": argon.argon2_parallelism,
            },
        },
        "goals": GOALS,
        "met": {
            "gateway_rps": through["rps"] >= GOALS["gateway_rps"],
            "gateway_p99_ms": through.get("p99_ms", 1e9) < GOALS["gateway_p99_ms"],
            "gateway_share_of_direct": through["rps"] / direct["rps"] >= GOALS["gateway_share_of_direct"],
        },
    }


def row(figures: dict[str, float]) -> str:
    latencies = " | ".join(f"{figures.get(p)} ms" for p in ("p50_ms", "p90_ms", "p99_ms"))
    return f"{figures['rps']:.0f} | {latencies} | {figures['non_2xx']:.0f}"


def readme_table(result: dict[str, Any]) -> str:
    d, g, login = result["direct"], result["gateway"], result["login"]
    ok = {True: "met", False: "**not met**"}
    return "\n".join(
        [
            f"Authenticated `GET /api/v1/user/profile` — {result['load']}; user service with "
            f"{result['user_service_workers']} uvicorn workers; {result['machine']}; {result['date']}.",
            "",
            "| target | req/s | p50 | p90 | p99 | non-2xx | goal |",
            "|---|---|---|---|---|---|---|",
            f"| user service, direct | {row(d)} | |",
            f"| through the gateway | {row(g)} | ≥ 1,250 req/s: {ok[result['met']['gateway_rps']]}; "
            f"p99 < 100 ms: {ok[result['met']['gateway_p99_ms']]} |",
            f"| gateway ÷ direct | {result['gateway_share_of_direct']:.0%} | | | | | ≥ 70 %: "
            f"{ok[result['met']['gateway_share_of_direct']]} |",
            "",
            f"Login (`POST /api/v1/auth/login` through the gateway, one at a time): p50 {login['p50_ms']} ms, "
            f"p95 {login['p95_ms']} ms — argon2id with m = {login['argon2id']['memory_kib']} KiB, "
            f"t = {login['argon2id']['time_cost']}, p = {login['argon2id']['parallelism']} (OWASP's minimum), "
            "deliberately slow.",
        ]
    )


def update_readme(result: dict[str, Any]) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:identity -->", "<!-- /bench:identity -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{readme_table(result)}\n{end}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of the user service")
    args = arguments(__doc__, parser)
    need_wrk()
    with servers("identity") as bench:
        for name in ("auth", "user"):
            database(bench.stack, name)  # under the catalogue's name, where the fleet looks
        result = asyncio.run(run(bench, args.seconds, args.connections, args.workers))
    shutil.rmtree(bench.folder, ignore_errors=True)
    write_results("identity", result, save=not args.no_save)
    if not args.no_save:
        update_readme(result)


if __name__ == "__main__":
    main()
