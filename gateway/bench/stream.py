"""Event latency of a Server-Sent Events stream through the local gateway vs. straight to the upstream.

    uv run python gateway/bench/stream.py [--clients 50] [--interval 0.02] [--duration 10]

Runs a minimal SSE upstream in this process (it answers any path with a chunked event stream and
broadcasts `data: <monotonic ns>` to every subscriber each interval), the gateway as a process with
the committed kong.yml (market-data -> that upstream, so `/api/v1/market/stream` takes the
`response_buffering: false` route), then subscribes N raw-socket clients straight to the upstream
and N through the gateway, one after the other, and reports per-event latency (write by the
upstream -> read by the client) and the gateway's CPU time per relayed event.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the throughput benchmark next to this file (not the repo's top-level bench/ folder) has the helpers
_spec = importlib.util.spec_from_file_location("gateway_bench", Path(__file__).with_name("bench.py"))
assert _spec is not None and _spec.loader is not None
gateway_bench: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gateway_bench)
ROOT, free_port, make_token, wait_port = (
    gateway_bench.ROOT,
    gateway_bench.free_port,
    gateway_bench.make_token,
    gateway_bench.wait_port,
)

EVENT = re.compile(rb"data: (\d+)\n\n")
TICK = os.sysconf("SC_CLK_TCK")


class Upstream:
    """Answers every request with an endless chunked event stream; `broadcast` writes to all of them."""

    def __init__(self) -> None:
        self.writers: set[asyncio.StreamWriter] = set()
        self.changed = asyncio.Condition()

    async def _count(self, writer: asyncio.StreamWriter, add: bool) -> None:
        async with self.changed:
            (self.writers.add if add else self.writers.discard)(writer)
            self.changed.notify_all()

    async def subscribers(self, count: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.writers) == count)

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            await self._count(writer, True)
            await reader.read()  # until the subscriber goes away
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await self._count(writer, False)
            writer.close()

    async def broadcast(self, interval: float, stop: asyncio.Event) -> int:
        """Returns how many events each subscriber was sent."""
        sent = 0
        while not stop.is_set():
            sent += 1
            event = b"data: %d\n\n" % time.monotonic_ns()
            frame = b"%x\r\n%s\r\n" % (len(event), event)
            for writer in list(self.writers):
                writer.write(frame)
            await asyncio.sleep(interval)
        return sent


async def subscribe(port: int, token: str, latencies: list[float], ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api/v1/market/stream?symbols=AAPL HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    await ready.wait()
    pending = b""
    try:
        while data := await reader.read(65536):
            now = time.monotonic_ns()
            pending += data
            last = 0
            for match in EVENT.finditer(pending):
                latencies.append((now - int(match[1])) / 1e6)
                last = match.end()
            pending = pending[last:]
    finally:
        writer.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def measure(
    port: int, token: str, clients: int, interval: float, duration: float, up: Upstream
) -> tuple[list[float], int]:
    """Per-event latencies (ms) and how many events were sent in all."""
    latencies: list[float] = []
    ready = asyncio.Event()
    tasks = [asyncio.create_task(subscribe(port, token, latencies, ready)) for _ in range(clients)]
    await up.subscribers(clients)
    stop = asyncio.Event()
    ready.set()
    broadcasting = asyncio.create_task(up.broadcast(interval, stop))
    await asyncio.sleep(duration)
    stop.set()
    sent = await broadcasting
    await asyncio.sleep(0.2)  # the last events arrive
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await up.subscribers(0)  # the upstream saw every subscriber go away
    return latencies, sent * clients


def summary(name: str, latencies: list[float], expected: int, cpu: float | None) -> str:
    q = statistics.quantiles(latencies, n=100)
    line = (
        f"{name:>8}: {len(latencies)}/{expected} events, latency p50 {q[49]:.2f} ms, p95 {q[94]:.2f} ms, "
        f"p99 {q[98]:.2f} ms, max {max(latencies):.1f} ms"
    )
    return line + (f", gateway CPU {cpu:.1f} us/event" if cpu is not None else "")


async def run(args: argparse.Namespace, token: str, up_port: int, gw_port: int, gateway_pid: int) -> None:
    up = Upstream()
    server = await asyncio.start_server(up.client, "127.0.0.1", up_port)
    try:
        await asyncio.to_thread(wait_port, gw_port)
        print(f"clients={args.clients} interval={args.interval}s duration={args.duration}s cpus={os.cpu_count()}")
        direct, sent = await measure(up_port, token, args.clients, args.interval, args.duration, up)
        print(summary("direct", direct, sent, None))
        before = cpu_seconds(gateway_pid)
        through, sent = await measure(gw_port, token, args.clients, args.interval, args.duration, up)
        cpu = (cpu_seconds(gateway_pid) - before) / max(len(through), 1) * 1e6
        print(summary("gateway", through, sent, cpu))
    finally:
        server.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--duration", type=float, default=10.0)
    args = p.parse_args()
    token, jwks = make_token(Path(tempfile.mkdtemp(prefix="pfms-gw-stream-")))
    up_port, gw_port = free_port(), free_port()
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pfms_gateway",
            "--config",
            str(ROOT / "gateway" / "kong.yml"),
            "--port",
            str(gw_port),
            "--status-port",
            "0",
            "--jwks-url",
            str(jwks),
            "--upstream-host",
            f"market-data=127.0.0.1:{up_port}",
            "--log-level",
            "WARNING",
        ],
        cwd=ROOT,
    )
    try:
        asyncio.run(run(args, token, up_port, gw_port, gateway.pid))
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
