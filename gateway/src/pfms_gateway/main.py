"""`pfms-gateway`: serve kong.yml locally, where Kong itself cannot run.

    pfms-gateway --config gateway/kong.yml --port 3000 --status-port 8100 \
        --jwks-url http://127.0.0.1:3001/.well-known/jwks.json \
        --upstream-host auth=127.0.0.1:3001 --upstream-host user=127.0.0.1:3002 ...

Compose hostnames (http://auth:3001) do not resolve outside compose, hence the overrides (also
from PFMS_GATEWAY_UPSTREAMS="auth=127.0.0.1:3001,user=127.0.0.1:3002"). --jwks-url fills the
`jwks-from-auth` consumer's secrets at start and refetches on an unknown kid (at most every 10 s):
the local equivalent of re-rendering kong.yml and `kong reload`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from pathlib import Path

from pfms_gateway.config import ConfigError, KongConfig, load_config
from pfms_gateway.jwks import fetch_jwks, secrets_from_jwks
from pfms_gateway.runtime import Gateway
from pfms_gateway.server import ClientConnection
from pfms_gateway.status import StatusConnection

log = logging.getLogger("pfms_gateway")

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "kong.yml"


def parse_upstreams(items: list[str]) -> dict[str, tuple[str, int]]:
    """NAME=HOST:PORT pairs (NAME is the Kong service name or its url host)."""
    result: dict[str, tuple[str, int]] = {}
    for item in items:
        for pair in item.split(","):
            pair = pair.strip()
            if not pair:
                continue
            name, sep, address = pair.partition("=")
            host, colon, port = address.rpartition(":")
            if not sep or not colon or not name or not host or not port.isdigit():
                raise ValueError(f"bad upstream override {pair!r}: expected NAME=HOST:PORT")
            result[name.strip()] = (host.strip("[]"), int(port))
    return result


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="pfms-gateway", description="Local, Kong-compatible gateway serving kong.yml")
    p.add_argument("--config", default=env("PFMS_GATEWAY_CONFIG", str(DEFAULT_CONFIG)), help="path to kong.yml")
    p.add_argument("--host", default=env("PFMS_GATEWAY_HOST", "127.0.0.1"), help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(env("PFMS_GATEWAY_PORT", "3000")), help="proxy port (3000)")
    p.add_argument(
        "--status-port",
        type=int,
        default=int(env("PFMS_GATEWAY_STATUS_PORT", "8100")),
        help="Kong status listener port serving /metrics and /status (8100; 0 disables)",
    )
    p.add_argument("--jwks-url", default=env("PFMS_GATEWAY_JWKS_URL"), help="auth's JWKS URL (or a file)")
    p.add_argument(
        "--upstream-host",
        action="append",
        default=[],
        metavar="NAME=HOST:PORT",
        help="where a service really is (repeatable); also PFMS_GATEWAY_UPSTREAMS, comma separated",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=int(env("PFMS_GATEWAY_WORKERS", "1")),
        help="processes sharing the port with SO_REUSEPORT (each keeps its own counters)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        default=128 * 1024 * 1024,
        help="hard cap on a buffered request body where no request-size-limiting applies",
    )
    p.add_argument("--log-level", default=env("PFMS_GATEWAY_LOG_LEVEL", "INFO"))
    return p


async def _install_jwks(gateway: Gateway, config: KongConfig, source: str) -> None:
    loop = asyncio.get_running_loop()
    consumers = config.jwks_consumers()
    if not consumers:
        log.warning("--jwks-url given but no consumer is tagged jwks-from-auth; ignoring it")
        return

    async def refresh() -> None:
        try:
            jwks = await loop.run_in_executor(None, fetch_jwks, source)
        except (OSError, ValueError) as exc:
            log.warning("JWKS fetch from %s failed: %s", source, exc)
            raise
        secrets = secrets_from_jwks(jwks)
        for consumer in consumers:
            if gateway.store.set_secrets(consumer, secrets):
                log.info("jwt secrets now: %s", ", ".join(s.key for s in secrets) or "(none)")

    gateway.store.refresher = refresh
    gateway.store.mark_refreshed()
    try:
        await refresh()
    except (OSError, ValueError):

        async def retry() -> None:
            while True:
                await asyncio.sleep(2.0)
                try:
                    await refresh()
                    gateway.store.mark_refreshed()
                    return
                except (OSError, ValueError):
                    continue

        gateway.background.add(asyncio.ensure_future(retry()))


async def serve(args: argparse.Namespace, config: KongConfig, upstreams: dict[str, tuple[str, int]]) -> None:
    loop = asyncio.get_running_loop()
    gateway = Gateway(config, upstreams, max_body=args.max_body, port=args.port)
    if args.jwks_url:
        await _install_jwks(gateway, config, args.jwks_url)
    reuse = args.workers > 1
    server = await loop.create_server(
        lambda: ClientConnection(gateway), args.host, args.port, reuse_port=reuse or None, backlog=4096
    )
    servers = [server]
    if args.status_port:
        servers.append(
            await loop.create_server(
                lambda: StatusConnection(gateway), args.host, args.status_port, reuse_port=reuse or None
            )
        )
    log.info(
        "pfms-gateway (pid %d) serving %s: %d services, %d routes on http://%s:%d, status on :%s",
        os.getpid(),
        config.source,
        len(config.services),
        len(config.routes),
        args.host,
        args.port,
        args.status_port or "off",
    )
    gc.collect()
    gc.freeze()  # config, routes and plugins live as long as the process: keep them out of full collections
    stop: asyncio.Future[None] = loop.create_future()

    def request_stop() -> None:
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop)
    await stop
    for s in servers:
        s.close()
    gateway.close()


def _run(args: argparse.Namespace, config: KongConfig, upstreams: dict[str, tuple[str, int]]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        asyncio.run(serve(args, config, upstreams))
    else:
        uvloop.run(serve(args, config, upstreams))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
        upstreams = parse_upstreams([os.environ.get("PFMS_GATEWAY_UPSTREAMS", ""), *args.upstream_host])
    except (ConfigError, ValueError, OSError) as exc:
        print(f"pfms-gateway: refusing to start: {exc}", file=sys.stderr)
        return 2
    unknown = sorted(set(upstreams) - {s.name for s in config.services} - {s.host for s in config.services})
    if unknown:  # harmless (a service kong.yml does not route yet), but worth seeing
        print(
            f"pfms-gateway: ignoring upstream override(s) for service(s) not in {args.config}: {unknown}",
            file=sys.stderr,
        )
    if args.workers <= 1:
        _run(args, config, upstreams)
        return 0
    children: list[int] = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - exercised by hand / benchmarks
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _run(args, config, upstreams)
            os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return status


if __name__ == "__main__":
    sys.exit(main())
