"""A/B of the buffered proxy path: an older gateway source tree against the working tree, side by side.

    git archive <commit> gateway | tar -x -C /tmp/gw-base
    uv run python gateway/bench/compare.py --baseline /tmp/gw-base/gateway/src [--rounds 8] [--duration 5]

Starts one bare ASGI upstream (as bench.py's `raw`) and two gateways on it, the baseline imported
from `--baseline` (PYTHONPATH) and the current one, then alternates wrk runs between them (the order
flips every round so neither always runs second) and reports each side's median req/s, p99 and the
gateway process's CPU time per request from /proc, the figure that stays meaningful on a loaded
machine. The baseline gets kong.yml without `response_buffering` (gateways before it refuse the key).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

# the throughput benchmark next to this file (not the repo's top-level bench/ folder) has the helpers
_spec = importlib.util.spec_from_file_location("gateway_bench", Path(__file__).with_name("bench.py"))
assert _spec is not None and _spec.loader is not None
gateway_bench: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gateway_bench)

ROOT: Path = gateway_bench.ROOT
TICK = os.sysconf("SC_CLK_TCK")
PATH = "/api/v1/expenses/1"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wrk(url: str, duration: int, connections: int, token: str) -> tuple[int, float, float]:
    """Requests completed, req/s, p99 ms."""
    cmd = ["wrk", "-H", f"Authorization: Bearer {token}", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    done = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return done, rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def baseline_config(folder: Path) -> Path:
    data = yaml.safe_load((ROOT / "gateway" / "kong.yml").read_text())
    for service in data["services"]:
        for route in service.get("routes", []):
            route.pop("response_buffering", None)
    path = folder / "kong-baseline.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def start_gateway(
    config: Path, jwks: Path, up_port: int, pythonpath: str | None
) -> tuple[subprocess.Popen[bytes], int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    port = gateway_bench.free_port()
    argv = [sys.executable, "-m", "pfms_gateway", "--config", str(config), "--port", str(port), "--status-port", "0"]
    argv += ["--jwks-url", str(jwks), "--upstream-host", f"expense=127.0.0.1:{up_port}", "--log-level", "WARNING"]
    return subprocess.Popen(argv, cwd=ROOT, env=env), port


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True, help="the older tree's gateway/src folder")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--connections", type=int, default=64)
    args = p.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pfms-gw-compare-"))
    (folder / "benchapp.py").write_text(gateway_bench.APP)
    token, jwks = gateway_bench.make_token(folder)
    up_port = gateway_bench.free_port()
    upstream_argv = [sys.executable, "-m", "uvicorn", "benchapp:raw", "--port", str(up_port), "--no-access-log"]
    upstream_argv += ["--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    procs = [subprocess.Popen(upstream_argv, cwd=folder)]
    try:
        base, base_port = start_gateway(baseline_config(folder), jwks, up_port, args.baseline)
        current, current_port = start_gateway(ROOT / "gateway" / "kong.yml", jwks, up_port, None)
        procs += [base, current]
        sides = {"baseline": (base.pid, base_port), "current": (current.pid, current_port)}
        for port in (up_port, base_port, current_port):
            gateway_bench.wait_port(port)
        for _, port in sides.values():
            wrk(f"http://127.0.0.1:{port}{PATH}", 2, args.connections, token)  # warm pools and caches
        rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}
        for i in range(args.rounds):
            for name in ("baseline", "current") if i % 2 == 0 else ("current", "baseline"):
                pid, port = sides[name]
                before = cpu_seconds(pid)
                done, rps, p99 = wrk(f"http://127.0.0.1:{port}{PATH}", args.duration, args.connections, token)
                cpu_us = (cpu_seconds(pid) - before) / max(done, 1) * 1e6
                rows[name].append((rps, p99, cpu_us))
                load = Path("/proc/loadavg").read_text().split()[0]
                print(f"round {i + 1} {name:>8}: {rps:7.0f} req/s  p99 {p99:6.1f} ms  {cpu_us:5.1f} us/req load {load}")
        for name, values in rows.items():
            rps, p99, cpu_us = (statistics.median(v[k] for v in values) for k in range(3))
            print(f"{name:>8} median: {rps:.0f} req/s, p99 {p99:.1f} ms, gateway CPU {cpu_us:.1f} us/request")
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
