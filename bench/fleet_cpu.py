"""Issue 10: the CPU one write costs across the fleet, per process (each service, the gateway and each server).

Used by `fleet_load.py --cpu-per-request N`: on a fleet with signed-up users and nothing else running,
N requests of one kind are sent through the gateway (8 at a time, users in turn), then the fleet is left
until every process is back at its idle rate (every consumer has applied every event the writes set off).
Each process's CPU (utime + stime from /proc, its live descendants plus the children it reaped, so
PostgreSQL backends and uvicorn workers count) over that span, less its idle rate measured just before,
divided by N is its cost per request. CPU time, not wall time: on a shared machine it is what a request
costs whatever the load, where throughput measures the neighbours.
"""

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from harness import load_average, measured_at

from pfms_local.fleet import Fleet

TICK = os.sysconf("SC_CLK_TCK")
IDLE_SECONDS = 4.0
SETTLE_INTERVAL = 1.0
SETTLED_AFTER = 3
"""Intervals in a row at (nearly) the idle rate before the cascade counts as done."""
SETTLE_MARGIN = 0.02
"""CPU seconds per second above the idle rate still counted as idle (timers, the relays' polls)."""
CONCURRENCY = 8


def _times(pid: int) -> int:
    """utime + stime + cutime + cstime in ticks (0 for a process that exited meanwhile: once reaped, its
    parent's cutime/cstime has it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(f) for f in fields[11:15])


def roots(running: Fleet) -> dict[str, int]:
    """Every process to account for: each service and the gateway by name, each server by its name."""
    out = {name: pid for name in running.names if (pid := running.pid(name)) is not None}
    out.update({s.name: s.proc.pid for s in running.stack.servers if s.proc is not None})
    return out


def sample(processes: dict[str, int]) -> dict[str, float]:
    """CPU seconds of each process with its live descendants (PostgreSQL backends, uvicorn workers) and
    the children they reaped; one walk of /proc for all of them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    out = {}
    for name, root in processes.items():
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            total += _times(pid)
            todo.extend(children.get(pid, []))
        out[name] = total / TICK
    return out


async def idle_rates(processes: dict[str, int]) -> dict[str, float]:
    before, began = sample(processes), time.monotonic()
    await asyncio.sleep(IDLE_SECONDS)
    after, took = sample(processes), time.monotonic() - began
    return {name: max(0.0, (after[name] - before[name]) / took) for name in processes}


async def settle(processes: dict[str, int], idle: dict[str, float], limit: float = 120.0) -> None:
    """Until the fleet's CPU rate stays near its idle rate for SETTLED_AFTER intervals (or `limit` seconds)."""
    quiet, deadline = 0, time.monotonic() + limit
    last, at = sample(processes), time.monotonic()
    while quiet < SETTLED_AFTER and time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_INTERVAL)
        now, when = sample(processes), time.monotonic()
        busy = sum(now.values()) - sum(last.values()) - sum(idle.values()) * (when - at)
        quiet = quiet + 1 if busy / (when - at) < SETTLE_MARGIN else 0
        last, at = now, when


async def measure(running: Fleet, client: httpx.AsyncClient, send: Callable[[int], Any], count: int) -> dict[str, Any]:
    """CPU milliseconds per request of each process for `count` calls of `send(i)` (an awaitable giving a response)."""
    processes = roots(running)
    await settle(processes, {name: 0.0 for name in processes}, limit=30)
    idle = await idle_rates(processes)
    limit = asyncio.Semaphore(CONCURRENCY)
    failed = 0

    async def one(i: int) -> None:
        nonlocal failed
        async with limit:
            response = await send(i)
            failed += response.status_code >= 300

    before, began = sample(processes), time.monotonic()
    await asyncio.gather(*(one(i) for i in range(count)))
    await settle(processes, idle)
    after, took = sample(processes), time.monotonic() - began
    per = {
        name: round(max(0.0, after[name] - before[name] - idle[name] * took) * 1000 / count, 2) for name in processes
    }
    ordered = dict(sorted(per.items(), key=lambda kv: -kv[1]))
    return {
        "requests": count,
        "failed": failed,
        "seconds_until_settled": round(took, 1),
        "fleet_ms": round(sum(per.values()), 1),
        "per_process_ms": {name: ms for name, ms in ordered.items() if ms >= 0.05},
    }


async def per_write(
    running: Fleet, client: httpx.AsyncClient, tokens: list[str], today: str, count: int
) -> dict[str, Any]:
    """Fleet CPU per `POST /api/v1/expenses` (uncategorised, as the mix sends it) and per income write, each
    user with one monthly budget."""

    def headers(i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}

    def expense(i: int) -> Any:
        body = {
            "amount": f"{1 + i % 200}.{i % 100:02d}",
            "currency": "USD",
            "expense_date": today,
            "description": f"CARD PURCHASE {i % 50}",
        }
        return client.post("/api/v1/expenses", json=body, headers=headers(i))

    def income(i: int) -> Any:
        body = {"amount": f"{100 + i % 900}.00", "currency": "USD", "date": today, "description": "salary"}
        return client.post("/api/v1/income/transactions", json=body, headers=headers(i))

    for i in range(len(tokens)):  # one budget each, as the mix leaves them: an expense write evaluates it
        body = {"name": "cpu", "amount": "500.00", "currency": "USD", "period": "monthly", "start_date": today}
        assert (await client.post("/api/v1/budgets", json=body, headers=headers(i))).status_code == 201
    load_before = load_average()
    expense_cost = await measure(running, client, expense, count)
    income_cost = await measure(running, client, income, count)
    return {
        "measured_at": measured_at(),
        "load_average_1m_before_after": [load_before[0], load_average()[0]],
        "what": (
            "CPU ms per request of each process (service, gateway, server with its children) from /proc utime+stime,"
            " from the first request until every process is back at its idle rate, less that idle rate"
        ),
        "POST /api/v1/expenses": expense_cost,
        "POST /api/v1/income/transactions": income_cost,
    }
