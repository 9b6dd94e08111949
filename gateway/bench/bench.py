"""Throughput of an authenticated GET through the local gateway vs. straight to the upstream.

    uv run python gateway/bench/bench.py [--upstream raw|fastapi] [--duration 10] [--rounds 3]

Starts a trivial upstream (a bare ASGI app, or a FastAPI route) under uvicorn, the gateway with the
committed kong.yml (expense -> that upstream, secrets from a generated JWKS), then alternates wrk
runs (64 connections, one thread) straight to the upstream and through the gateway, so both see the
same machine load. Needs `wrk` on PATH.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROOT = Path(__file__).resolve().parents[2]
APP = """
from fastapi import FastAPI

BODY = b'{"id":1,"amount":"12.50","currency":"EUR"}'


async def raw(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]})
    await send({"type": "http.response.body", "body": BODY})


api = FastAPI()


@api.get("/api/v1/expenses/{expense_id}")
async def expense(expense_id: int) -> dict:
    return {"id": expense_id, "amount": "12.50", "currency": "EUR"}
"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(folder: Path) -> tuple[str, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nums = key.public_key().public_numbers()
    jwk = {
        "kty": "RSA",
        "kid": "bench",
        "use": "sig",
        "alg": "RS256",
        "n": b64url(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
        "e": b64url(b"\x01\x00\x01"),
    }
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    now = int(time.time())
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "bench"}).encode())
    claims = b64url(json.dumps({"sub": "bench-user", "iat": now, "nbf": now, "exp": now + 3600}).encode())
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{b64url(signature)}", jwks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def wrk(url: str, duration: int, connections: int, token: str | None) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p99_value, p99_unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(p99_value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": p99, "non2xx": float(errors[1]) if errors else 0.0}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", choices=["raw", "fastapi"], default="raw")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    args = p.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pfms-gw-bench-"))
    (folder / "benchapp.py").write_text(APP)
    token, jwks = make_token(folder)
    up_port, gw_port, status_port = free_port(), free_port(), free_port()
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"benchapp:{'raw' if args.upstream == 'raw' else 'api'}",
                    "--port",
                    str(up_port),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                ],
                cwd=folder,
            )
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pfms_gateway",
                    "--config",
                    str(ROOT / "gateway" / "kong.yml"),
                    "--port",
                    str(gw_port),
                    "--status-port",
                    str(status_port),
                    "--jwks-url",
                    str(jwks),
                    "--upstream-host",
                    f"expense=127.0.0.1:{up_port}",
                    "--workers",
                    str(args.workers),
                    "--log-level",
                    "WARNING",
                ],
                cwd=ROOT,
            )
        )
        wait_port(up_port)
        wait_port(gw_port)
        path = "/api/v1/expenses/1"
        wrk(f"http://127.0.0.1:{gw_port}{path}", 2, args.connections, token)  # warm the pools and caches
        print(
            f"upstream={args.upstream} connections={args.connections} duration={args.duration}s "
            f"workers={args.workers} cpus={os.cpu_count()}"
        )
        columns = ("round", 5), ("direct rps", 11), ("p99 ms", 7), ("gateway rps", 12), ("p99 ms", 7), ("non-2xx", 8)
        print(" ".join(f"{name:>{width}}" for name, width in columns), f"{'ratio':>6}")
        for i in range(1, args.rounds + 1):
            direct = wrk(f"http://127.0.0.1:{up_port}{path}", args.duration, args.connections, token)
            through = wrk(f"http://127.0.0.1:{gw_port}{path}", args.duration, args.connections, token)
            print(
                f"{i:>5} {direct['rps']:>11.0f} {direct['p99_ms']:>7.1f} {through['rps']:>12.0f} "
                f"{through['p99_ms']:>7.1f} {through['non2xx']:>8.0f} {through['rps'] / direct['rps']:>6.0%}"
            )
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
