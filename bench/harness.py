"""What the benchmarks in bench/ share: servers, databases, service processes, figures and results.

A script starts its servers with `servers(name)`, gives a service a migrated database with
`database(stack, service)`, runs the real service as its own process with `serve(...)` (the
`PFMS_<NAME>_*` environment built from the catalogue), awaits `ServiceProcess.ready()`, times its own
requests, summarises them with `percentiles(...)`, records `machine(...)` and `measured_at()`, and
writes `bench/results/<name>.json` with `write_results(...)` unless run with `--no-save`.
Fleet-level scripts start services as `make run` does with `fleet(...)`, sign users up with
`sign_up(...)`, drive them with `wrk(...)` (Lua script + `WRK_COUNTERS`) and read memory with
`fleet_memory(...)`.
"""

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from pfms_devservers import Stack, free_port
from pfms_local.fleet import Fleet
from pfms_local.logs import Files
from pfms_platform.catalogue import ServiceInfo
from pfms_platform.catalogue import service as service_info
from pfms_platform.migrations import upgrade
from pfms_platform.testing.fixtures import service_dir
from pfms_platform.testing.keys import TestKeys

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Servers:
    """The loopback servers of one benchmark run, the JWT keys (served as JWKS) and a scratch folder."""

    stack: Stack
    keys: TestKeys
    folder: Path


@contextmanager
def servers(name: str) -> Iterator[Servers]:
    """Start PostgreSQL, RabbitMQ, Redis, the MongoDB-wire, SMTP and S3 servers under a new temp folder,
    and a JWKS endpoint (`keys.url`); stop them all on exit."""
    folder = Path(tempfile.mkdtemp(prefix=f"pfms-bench-{name}-"))
    folder.chmod(0o755)  # the postgres and rabbitmq system users must reach the servers folder below
    # `kill` (SIGTERM) unwinds like Ctrl-C does, so the servers below are stopped, not left running.
    previous = signal.signal(signal.SIGTERM, _exit_on_term)
    stack = Stack.create(folder / "servers", fast=True)
    stack.start()
    keys = TestKeys()
    try:
        keys.url = keys.serve()
        yield Servers(stack, keys, folder)
    finally:
        keys.close()
        stack.stop()
        shutil.rmtree(folder, ignore_errors=True)  # up to a GB of database files per run otherwise
        signal.signal(signal.SIGTERM, previous)


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def database(stack: Stack, service: str) -> str:
    """Create the service's database (its catalogue name), migrate it and return its SQLAlchemy URL."""
    name = service_info(service).database
    stack.postgres.create_database(name)
    url = stack.postgres.url(name)
    upgrade(service_dir(service), url)
    return url


def plain(url: str) -> str:
    """The asyncpg DSN of a SQLAlchemy `postgresql+asyncpg://` URL."""
    return url.replace("+asyncpg", "")


@dataclass
class ServiceProcess:
    """A service run as its own process (`pfms-<name> serve`) on a loopback port."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self, timeout: float = 60) -> None:
        """Wait until `/ready` answers 200; fail at once if the process exits."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the {self.name} service exited during start-up")
                try:
                    if (await client.get("/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"the {self.name} service was not ready in {timeout:.0f} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def service_env(
    service: str,
    run: Servers,
    port: int,
    *,
    database_url: str | None = None,
    vhost: str = "/",
    redis_db: int = 1,
    env: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """The process environment plus `PFMS_<NAME>_*`: database, bus, Redis, JWKS, port, the per-user rate
    limit off and WARNING logs; `env` (names without the prefix) adds, overrides or, with None, removes."""
    prefix = service_info(service).env_prefix
    settings: dict[str, str | None] = {
        "DATABASE_URL": database_url,
        "AMQP_URL": run.stack.rabbitmq.url(vhost),
        "REDIS_URL": run.stack.redis.url(redis_db),
        "JWKS_URL": run.keys.url,
        "PORT": str(port),
        "USER_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    return {**os.environ, **{prefix + k: v for k, v in settings.items() if v is not None}}


@contextmanager
def serve(
    service: str,
    run: Servers,
    *,
    database_url: str | None = None,
    vhost: str = "/",
    redis_db: int = 1,
    env: Mapping[str, str | None] | None = None,
    log: bool = False,
) -> Iterator[ServiceProcess]:
    """Start `pfms-<service> serve` on a free port (see `service_env`) and terminate it on exit. Its
    output goes to `<folder>/<service>.log` with `log`, else stdout is dropped and stderr shown."""
    port = free_port()
    environment = service_env(service, run, port, database_url=database_url, vhost=vhost, redis_db=redis_db, env=env)
    command = [str(Path(sys.executable).parent / f"pfms-{service}"), "serve"]
    with (run.folder / f"{service}.log").open("wb") if log else open(os.devnull, "wb") as out:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT if log else None)
    running = ServiceProcess(service, port, process)
    try:
        yield running
    finally:
        running.stop()


def percentiles(
    samples: Sequence[float],
    *,
    digits: int = 2,
    stats: Sequence[str] = ("p50", "p95", "p99", "max"),
    count: bool = True,
    rank: Literal["lower", "nearest"] = "lower",
) -> dict[str, float]:
    """Summary of millisecond samples: `n` (with `count`) then each of `stats` (p50, p95, p99, max, mean)
    as `<stat>_ms`, rounded to `digits`. `rank="lower"`: p50 is the median and pXX the sample at
    index int(q·(n-1)); `rank="nearest"`: every pXX is the sample at index min(n-1, int(q·n))."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        if rank == "nearest":
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
        return statistics.median(ordered) if q == 0.5 else ordered[int(q * (len(ordered) - 1))]

    out: dict[str, float] = {"n": len(ordered)} if count else {}
    for stat in stats:
        if stat == "max":
            value = ordered[-1]
        elif stat == "mean":
            value = statistics.fmean(ordered)
        else:
            value = at(int(stat[1:]) / 100)
        out[f"{stat}_ms"] = round(value, digits)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc): what it spent, however busy the
    machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(load_before: Sequence[float] | None = None) -> dict[str, Any]:
    """CPUs, Python, system and the 1-minute load average: before and after the run when `load_before`
    (a `load_average()` taken before) is given, else at the end."""
    load: dict[str, Any] = (
        {"load_average_1m_before_after": [load_before[0], load_average()[0]]}
        if load_before is not None
        else {"load_average_1m_at_end": load_average()[0]}
    )
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        **load,
    }


def measured_at() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def arguments(doc: str | None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse the command line: the script's own options (`parser`) plus `--no-save`."""
    parser = parser or argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--no-save", action="store_true", help="print the figures but leave bench/results/ as committed"
    )
    return parser.parse_args()


def write_results(name: str, result: Mapping[str, Any], *, save: bool = True) -> None:
    """Write `result` to bench/results/<name>.json (unless not `save`) and print it."""
    text = json.dumps(result, indent=2, default=str) + "\n"
    if save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(text)
    print(text, end="")


# -- the fleet, wrk and memory (fleet_load.py, event_latency.py, identity.py) ----------------------

PASSWORD = "benchmark passphrase that is long"

WRK_COUNTERS = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do errors = errors + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %.3f, "non_2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %.2f, "p90_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\\n',
    summary.requests, summary.duration / 1e6, errors, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""
"""Appended to a wrk script by `wrk(..., counted=True)`: counts every non-2xx answer (wrk's own
count leaves 3xx out) and prints p50/p90/p95/p99 from `done()` — `--latency` has no p95. Each wrk
thread gets `tid` (1, 2, …) for unique names in request bodies."""


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, errors and latency percentiles (ms) from `wrk --latency` output; with the
    `WRK_COUNTERS` line, its figures (p95, non-2xx of any kind) win."""

    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    figures: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])}  # type: ignore[index]
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match:
            figures[f"p{pct}_ms"] = round(ms(match[1], match[2]), 2)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    figures["non_2xx"] = float(errors[1]) if errors else 0.0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["socket_errors"] = float(sum(int(x) for x in socket.groups())) if socket else 0.0
    counted = re.search(r"^WRK_JSON (\{.*\})$", output, re.M)
    if counted:
        figures |= {k: float(v) for k, v in json.loads(counted[1]).items()}
    return figures


def wrk(
    url: str, script: Path, seconds: int, connections: int, *, threads: int = 2, timeout: int | None = None
) -> dict[str, float]:
    """Run wrk with a Lua script for `seconds` on `connections` keep-alive connections; `parse_wrk`'s
    figures. `timeout`: seconds before wrk gives up on an answer and counts a socket error (its default 2)."""
    extra = [f"--timeout={timeout}s"] if timeout else []
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", *extra, "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return parse_wrk(done.stdout)


def need_wrk() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")


@asynccontextmanager
async def fleet(
    run: Servers, services: tuple[ServiceInfo, ...], *, extra_env: Mapping[str, str] | None = None, gateway: bool = True
) -> AsyncIterator[Fleet]:
    """`services` (and the local gateway) as `make run` starts them (`pfms_local.fleet.Fleet`), on
    `run`'s servers with free ports, each PostgreSQL service on its catalogue database (create them
    with `database` first), logs under `<folder>/logs`; stopped on exit."""
    running = Fleet(
        run.stack,
        sink=Files(run.folder / "logs"),
        services=services,
        ports={s.name: free_port() for s in services},
        gateway_port=free_port(),
        gateway_status_port=free_port(),
        environment="test",
        extra_env=extra_env,
        gateway=gateway,
    )
    try:
        await running.start(180)
        yield running
    finally:
        await running.stop()


def no_rate_limits(services: tuple[ServiceInfo, ...]) -> dict[str, str]:
    """The per-user limiter stays on (its Redis round trip is part of the cost) with a quota a load
    test does not exhaust."""
    return {f"{s.env_prefix}USER_RATE_LIMIT_PER_MINUTE": "100000000" for s in services}


async def sign_up(client: httpx.AsyncClient, count: int) -> list[str]:
    """Register and log in `count` new users through `client` (the gateway or auth); their access tokens."""
    emails = [f"bench-{uuid.uuid4().hex[:10]}@example.com" for _ in range(count)]
    limit = asyncio.Semaphore(8)

    async def one(email: str) -> str:
        async with limit:
            body = {"email": email, "password": PASSWORD}
            assert (await client.post("/api/v1/auth/register", json=body)).status_code == 202
            login = await client.post("/api/v1/auth/login", json=body)
            assert login.status_code == 200, login.text
            return str(login.json()["data"]["access_token"])

    return await asyncio.gather(*(one(e) for e in emails))


def descendants(root: int) -> list[int]:
    """`root` and every process below it (by parent pid: PostgreSQL backends leave their parent's
    process group, so a group would miss them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def memory_mib(root: int) -> dict[str, float]:
    """RSS and PSS (MiB) of process `root` and all its descendants (a service with its uvicorn workers,
    a server with its backends). PSS splits shared pages among the processes sharing them, so forked
    workers and PostgreSQL backends are not counted twice; RSS counts them in full in each process."""
    rss = pss = 0
    for pid in descendants(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = dict(line.split(":", 1) for line in rollup.splitlines()[1:])
        rss += int(fields["Rss"].split()[0])
        pss += int(fields["Pss"].split()[0])
    return {"rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1)}


def fleet_memory(running: Fleet) -> dict[str, Any]:
    """Memory of each service and the gateway, and of each server of the stack, with the totals."""
    processes = {name: memory_mib(pid) for name in running.names if (pid := running.pid(name)) is not None}
    servers = {s.name: memory_mib(s.proc.pid) for s in running.stack.servers if s.proc is not None}

    def total(parts: dict[str, dict[str, float]]) -> dict[str, float]:
        return {k: round(sum(p[k] for p in parts.values()), 1) for k in ("rss_mib", "pss_mib")}

    fleet_total, servers_total = total(processes), total(servers)
    return {
        "processes": processes,
        "processes_total": fleet_total,
        "servers": servers,
        "servers_total": servers_total,
        "total": {k: round(fleet_total[k] + servers_total[k], 1) for k in fleet_total},
    }
