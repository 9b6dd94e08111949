"""Issue 10 benchmark: the whole fleet under a realistic mix through the gateway, and its memory.

Starts its own servers, every service of the catalogue and the local gateway as `make run` does
(`pfms_local.fleet.Fleet`, fresh databases under a temp folder), signs up 64 users (each gets one
savings goal to pay into), then drives 64 keep-alive connections with wrk for `--seconds`. Each
request, by a counter per wrk thread, is one of:

- 60 % reads, in turn: the expense list, the user profile, income transactions, savings goals, the
  unread-notification count and the category list (five services);
- 30 % `POST /api/v1/expenses` (no category: the ai service categorises it over the bus, budgets,
  automation and notification react to `expense.created` as they would in use);
- 10 % other writes, in turn: `POST /api/v1/income/transactions`, a contribution to the user's
  savings goal, `POST /api/v1/budgets` (a unique name per request).

Tokens rotate over the 64 users. Latency percentiles (p95 included) come from wrk's `done()`;
every answer that is not 2xx, and every request refused or unanswered after 10 s, counts as an
error. Then a read straight at the user service vs the same read through the gateway
(`--compare-seconds` each, 0 to skip), and with `--breakdown-seconds N` each kind of request of the
mix alone for N seconds (after the mix, on the data it left), to tell which endpoint is the slow
one. With `--cpu-per-request N`, before the mix: the CPU of every process per expense write and per
income write (bench/fleet_cpu.py). Memory: RSS and PSS of each service and the gateway, and of each
server of the stack, idle after sign-up and sampled every few seconds under the load (the peak and
the end). Writes bench/results/fleet.json.

    uv run python bench/fleet_load.py [--seconds 60] [--connections 64] [--compare-seconds 10]
        [--breakdown-seconds 0] [--cpu-per-request 0] [--no-save]
"""

import argparse
import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from fleet_cpu import per_write
from harness import (
    WRK_COUNTERS,
    Servers,
    arguments,
    database,
    fleet,
    fleet_memory,
    load_average,
    machine,
    measured_at,
    need_wrk,
    no_rate_limits,
    servers,
    sign_up,
    write_results,
    wrk,
)

from pfms_local.fleet import Fleet, wait_for
from pfms_platform.catalogue import SERVICES

GOALS = {"rps": 1250.0, "p95_ms": 120.0, "errors": 0, "memory_gib": 3.0}
MEMORY_SAMPLE_SECONDS = 5.0
WRK_TIMEOUT = 10
"""Seconds before wrk counts an unanswered request as an error (its default, 2, would count a slow answer on
a loaded machine as a failure; p95/p99 show the slowness)."""

READS = (
    "/api/v1/expenses?limit=20",
    "/api/v1/user/profile",
    "/api/v1/income/transactions?limit=20",
    "/api/v1/savings/goals",
    "/api/v1/notifications/unread-count",
    "/api/v1/categories?limit=50",
)

ENDPOINTS = (
    *(f"GET {path}" for path in READS),
    "POST /api/v1/expenses",
    "POST /api/v1/income/transactions",
    "POST /api/v1/savings/goals/{id}/contribute",
    "POST /api/v1/budgets",
)
"""The mix's kinds of request, in the order of `kinds` in the script (`only` picks one by position)."""

MIX_SCRIPT = """
local tokens = {%(tokens)s}
local goals = {%(goals)s}
local reads = {%(reads)s}
local today = "%(today)s"
local only = %(only)d
local n = 0

local function auth(i)
  return {["Authorization"] = "Bearer " .. tokens[i], ["Content-Type"] = "application/json"}
end

local function read(i)
  return function(user) return wrk.format("GET", reads[i], auth(user)) end
end

local function expense(user)
  local body = string.format(
    '{"amount": "%%d.%%02d", "currency": "USD", "expense_date": "%%s", "description": "CARD PURCHASE %%d"}',
    1 + n %% 200, n %% 100, today, n %% 50)
  return wrk.format("POST", "/api/v1/expenses", auth(user), body)
end

local function income(user)
  local body = string.format('{"amount": "%%d.00", "currency": "USD", "date": "%%s", "description": "salary"}',
    100 + n %% 900, today)
  return wrk.format("POST", "/api/v1/income/transactions", auth(user), body)
end

local function contribute(user)
  return wrk.format("POST", "/api/v1/savings/goals/" .. goals[user] .. "/contribute", auth(user),
    '{"amount": "5.00"}')
end

local function budget(user)
  local body = string.format(
    '{"name": "bench %%d-%%d", "amount": "500.00", "currency": "USD", "period": "monthly", "start_date": "%%s"}',
    tid, n, today)
  return wrk.format("POST", "/api/v1/budgets", auth(user), body)
end

local kinds = {}
for i = 1, #reads do kinds[i] = read(i) end
for _, write in ipairs({expense, income, contribute, budget}) do table.insert(kinds, write) end
local others = {income, contribute, budget}

request = function()
  n = n + 1
  local user = (n %% #tokens) + 1
  if only > 0 then return kinds[only](user) end
  local slot = n %% 10
  local turn = math.floor(n / 10)
  if slot < 6 then
    return kinds[(turn %% #reads) + 1](user)
  elseif slot < 9 then
    return expense(user)
  end
  return others[(turn %% 3) + 1](user)
end
"""

PROFILE_SCRIPT = """
local tokens = {%s}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/user/profile", {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1]})
end
"""


async def prepare_users(client: httpx.AsyncClient, count: int) -> tuple[list[str], list[str]]:
    """`count` users with a profile, their default categories and one savings goal; (tokens, goal ids)."""
    tokens = await sign_up(client, count)
    limit = asyncio.Semaphore(8)

    async def ready(token: str) -> str:
        headers = {"Authorization": f"Bearer {token}"}
        async with limit:

            async def settled() -> bool:
                profile = await client.get("/api/v1/user/profile", headers=headers)
                categories = await client.get("/api/v1/categories", params={"limit": 1}, headers=headers)
                return profile.status_code == 200 and bool(categories.json().get("data"))

            await wait_for(settled, timeout=120, interval=0.2, message="profile and categories from user.created")
            goal = await client.post(
                "/api/v1/savings/goals",
                json={"name": "Holiday", "target_amount": "100000.00", "currency": "USD"},
                headers=headers,
            )
            assert goal.status_code == 201, goal.text
            return str(goal.json()["data"]["id"])

    goals = await asyncio.gather(*(ready(t) for t in tokens))
    return tokens, list(goals)


def lua_list(values: list[str] | tuple[str, ...]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def peak(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Per process and per server, the largest of the samples; totals of those peaks and the largest
    sampled total."""
    out: dict[str, Any] = {}
    for part in ("processes", "servers"):
        names = samples[0][part].keys()
        out[part] = {
            name: {k: max(s[part].get(name, {}).get(k, 0.0) for s in samples) for k in ("rss_mib", "pss_mib")}
            for name in names
        }
    out["largest_sampled_total"] = {k: max(s["total"][k] for s in samples) for k in ("rss_mib", "pss_mib")}
    out["samples"] = len(samples)
    return out


async def under_load(
    running: Fleet, script_url: str, script: Any, seconds: int, connections: int
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Run wrk in a thread while sampling the fleet's memory every few seconds."""
    result: dict[str, dict[str, float]] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("wrk", wrk(script_url, script, seconds, connections, timeout=WRK_TIMEOUT)),
        daemon=True,
    )
    thread.start()
    samples = []
    while thread.is_alive():
        await asyncio.sleep(min(MEMORY_SAMPLE_SECONDS, max(1.0, seconds / 4)))
        if thread.is_alive():
            samples.append(fleet_memory(running))
    thread.join()
    if "wrk" not in result:
        raise RuntimeError("wrk failed (see above)")
    return result["wrk"], samples or [fleet_memory(running)]


async def run(
    bench: Servers, seconds: int, connections: int, compare_seconds: int, breakdown_seconds: int, cpu_requests: int
) -> dict[str, Any]:
    load_before = load_average()
    async with fleet(bench, SERVICES, extra_env=no_rate_limits(SERVICES)) as running:
        started_in = running.started_in
        async with httpx.AsyncClient(base_url=running.gateway_url, timeout=60) as client:
            tokens, goals = await prepare_users(client, connections)
        await asyncio.sleep(5)  # let the sign-up's events settle before measuring idle memory
        idle = fleet_memory(running)
        today = datetime.now(UTC).date().isoformat()
        cpu: dict[str, Any] = {}
        if cpu_requests:
            async with httpx.AsyncClient(base_url=running.gateway_url, timeout=60) as client:
                cpu = await per_write(running, client, tokens, today, cpu_requests)

        def script(only: int) -> Any:
            """The mix (`only` 0) or only the `only`-th of ENDPOINTS (1-based)."""
            path = bench.folder / f"mix-{only}.lua"
            values = {"tokens": lua_list(tokens), "goals": lua_list(goals), "reads": lua_list(READS)}
            path.write_text(MIX_SCRIPT % (values | {"today": today, "only": only}) + WRK_COUNTERS)
            return path

        mix = script(0)
        wrk(running.gateway_url, mix, 3, connections, timeout=WRK_TIMEOUT)  # warm-up: connections, caches
        load_1m_at_start = load_average()[0]
        figures, samples = await under_load(running, running.gateway_url, mix, seconds, connections)
        at_end = fleet_memory(running)
        alone: dict[str, Any] = {}
        for position, endpoint in enumerate(ENDPOINTS, 1) if breakdown_seconds else ():
            alone[endpoint] = wrk(
                running.gateway_url, script(position), breakdown_seconds, connections, timeout=WRK_TIMEOUT
            )
        compare: dict[str, Any] = {}
        if compare_seconds:
            profile = bench.folder / "profile.lua"
            profile.write_text(PROFILE_SCRIPT % lua_list(tokens) + WRK_COUNTERS)
            direct = wrk(
                running.url("user") + "/api/v1/user/profile", profile, compare_seconds, connections, timeout=WRK_TIMEOUT
            )
            through = wrk(
                running.gateway_url + "/api/v1/user/profile", profile, compare_seconds, connections, timeout=WRK_TIMEOUT
            )
            compare = {
                "read": "GET /api/v1/user/profile (one uvicorn worker, as in the fleet)",
                "seconds": compare_seconds,
                "direct": direct,
                "gateway": through,
                "gateway_share_of_direct": round(through["rps"] / direct["rps"], 3),
            }
    errors = figures["non_2xx"] + figures["socket_errors"]
    under = peak([*samples, at_end])
    # PSS: summed RSS counts the pages forked workers and PostgreSQL backends share once per process.
    memory_gib = round(max(under["largest_sampled_total"]["pss_mib"], idle["total"]["pss_mib"]) / 1024, 2)
    return {
        "benchmark": "fleet load: 60 % reads, 30 % expense writes, 10 % other writes through the gateway",
        "measured_at": measured_at(),
        "machine": machine(load_before) | {"load_average_1m_at_load_start": load_1m_at_start},
        "fleet": {
            "services": [s.name for s in SERVICES],
            "started_in_seconds": round(started_in or 0.0, 1),
            "users": connections,
        },
        "load": {
            "tool": f"wrk -t2 -c{connections} -d{seconds}s, Lua mix per request, tokens of {connections} users in turn",
            "reads": list(READS),
            "expense_writes": "POST /api/v1/expenses (no category)",
            "other_writes": [
                "POST /api/v1/income/transactions",
                "POST /api/v1/savings/goals/{id}/contribute",
                "POST /api/v1/budgets",
            ],
        },
        "mix": figures | {"errors": errors},
        "each_endpoint_alone": {"seconds": breakdown_seconds, "after_the_mix": alone} if alone else {},
        "direct_vs_gateway": compare,
        "cpu_per_write": cpu,
        "memory_mib": {
            "what": (
                "RSS and PSS of each process and its descendants (a service and its workers, a server and its children)"
            ),
            "idle": idle,
            "under_load_peak": under,
            "at_end_of_load": at_end,
            "fleet_total_gib": memory_gib,
        },
        "goals": GOALS,
        "met": {
            "rps": figures["rps"] >= GOALS["rps"],
            "p95_ms": figures["p95_ms"] < GOALS["p95_ms"],
            "errors": errors <= GOALS["errors"],
            "memory_gib": memory_gib < GOALS["memory_gib"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--compare-seconds", type=int, default=10, help="direct vs gateway read, each; 0 skips")
    parser.add_argument(
        "--breakdown-seconds", type=int, default=0, help="after the mix, each endpoint of it alone for as long; 0 skips"
    )
    parser.add_argument(
        "--cpu-per-request",
        type=int,
        default=0,
        help="before the mix, fleet CPU per process of N expense writes, then N income writes; 0 skips",
    )
    args = arguments(__doc__, parser)
    need_wrk()
    began = time.monotonic()
    with servers("fleet") as bench:
        for info in SERVICES:
            if info.store == "postgres":
                database(bench.stack, info.name)  # under the catalogue's name, where the fleet looks
        result = asyncio.run(
            run(
                bench,
                args.seconds,
                args.connections,
                args.compare_seconds,
                args.breakdown_seconds,
                args.cpu_per_request,
            )
        )
    result["wall_seconds"] = round(time.monotonic() - began, 1)
    write_results("fleet", result, save=not args.no_save)


if __name__ == "__main__":
    main()
