"""`pfms-run`: the whole fleet on one machine without Docker, on one terminal; Ctrl-C stops it all.

Order: servers (PostgreSQL, RabbitMQ, Redis, Mongo-wire) → databases + migrations (while RabbitMQ
is still booting) → services and gateway in parallel → wait for every `/ready` → print where
things are. Stopping goes the other way: services, gateway, servers.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from pfms_devservers import Stack
from pfms_devservers.servers import Server
from pfms_local import leftovers
from pfms_local.config import RunConfig, port_variable
from pfms_local.databases import create_databases, migrate
from pfms_local.fieldkeys import field_key_env
from pfms_local.fleet import GATEWAY, Fleet
from pfms_local.logs import Console, Files, Sink, Tee

RUN = "run"
DUPLICATE_SIGNAL_WINDOW = 1.0
"""A Ctrl-C reaches the runner from the terminal and again from `uv run`; only a later one forces."""


class RunError(Exception):
    """A start-up failure with a message for the developer (SystemExit would escape the event loop)."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pfms-run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", default=None, metavar="A,B", help="start only these services (plus the gateway); env PFMS_RUN_ONLY"
    )
    parser.add_argument("--no-gateway", action="store_true", help="do not start the gateway")
    parser.add_argument("--raw-logs", action="store_true", help="print the services' JSON log lines as they are")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness")
    return parser.parse_args(argv)


def _short(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def summary(fleet: Fleet, stack: Stack, cfg: RunConfig, seconds: float) -> list[str]:
    """What a developer needs after `make run`: where everything answers."""
    pad = max(len(name) for name in fleet.names) + 2
    lines = [f"PFMS is up in {seconds:.1f}s. Ctrl-C stops everything.", ""]
    if fleet.with_gateway:
        lines.append(
            f"  {GATEWAY:<{pad}} {fleet.gateway_url}   "
            f"(status and metrics http://127.0.0.1:{fleet.gateway_status_port}/metrics)"
        )
    for info in fleet.services:
        url = fleet.url(info.name)
        lines.append(f"  {info.name:<{pad}} {url}   docs {url}/docs   metrics {url}/metrics")
    lines += [
        "",
        f"  RabbitMQ management  http://127.0.0.1:{stack.rabbitmq.management_port}/  (guest / guest)",
        f"  RabbitMQ (AMQP)      {stack.rabbitmq.url()}",
        f"  PostgreSQL           {stack.postgres.url('<database>', driver='postgresql')}  (pfms_auth, pfms_user, ...)",
        f"  Redis                {stack.redis.url()}",
        f"  MongoDB (wire)       {stack.mongo.url()}/pfms_ai",
        f"  SMTP (mail catcher)  {stack.smtp.host}:{stack.smtp.port}, mail in {_short(stack.smtp.maildir)}/",
        f"  S3 (object store)    {stack.s3.endpoint_url}  (test / test)",
        f"  logs                 {_short(cfg.var / 'logs')}/<name>.log, servers in {_short(cfg.var)}/<server>/",
    ]
    return lines


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class Runner:
    def __init__(self, cfg: RunConfig, sink: Sink, *, gateway: bool, timeout: float) -> None:
        self.cfg = cfg
        self.timeout = timeout
        self.sink = sink
        ports = cfg.servers
        self.stack = Stack.create(cfg.var, ports=ports, fast=False)
        self.fleet = Fleet(
            self.stack,
            sink=sink,
            services=cfg.services,
            ports=cfg.service_ports,
            gateway_port=cfg.gateway_port,
            gateway_status_port=cfg.gateway_status_port,
            environment="development",
            extra_env=field_key_env(cfg.var, cfg.services),
            environ_wins=True,
            gateway=gateway,
        )
        self.server_groups: list[int] = []
        self.stop_requested = asyncio.Event()
        self.signals = 0
        self.first_signal = 0.0

    def say(self, text: str) -> None:
        self.sink.line(RUN, text)

    def on_signal(self, signum: int) -> None:
        now = time.monotonic()
        if self.signals and now - self.first_signal < DUPLICATE_SIGNAL_WINDOW:
            return  # the same Ctrl-C relayed by `make`/`uv run` as well as sent by the terminal
        self.signals += 1
        self.first_signal = self.first_signal or now
        if self.signals == 1:
            self.say(f"{signal.Signals(signum).name}: stopping (services, gateway, then servers)...")
            self.stop_requested.set()
        else:
            self.say("second signal: killing everything now")
            for child in self.fleet.supervisor.children.values():
                child.stopping = True
                if child.proc is not None and child.proc.returncode is None:
                    _kill_group(child.proc.pid)
            for pgid in self.server_groups:
                _kill_group(pgid)

    async def start_servers(self) -> None:
        servers: list[Server] = self.stack.servers
        for server in servers:
            try:
                server.start()
            except RuntimeError as exc:
                raise RunError(
                    f"{exc}: another program listens there; pick another port with "
                    f"{port_variable(server.name)}=<port> (see deploy/local/README.md)"
                ) from None
            assert server.proc is not None
            self.server_groups.append(server.proc.pid)
        leftovers.record(self.cfg.var, servers)

    async def boot(self) -> float:
        began = time.monotonic()
        self.say(f"starting PostgreSQL, RabbitMQ, Redis and the Mongo-wire server under {_short(self.cfg.var)}")
        await self.start_servers()
        await asyncio.to_thread(self.stack.postgres.wait, 60)
        created = await asyncio.to_thread(
            create_databases, self.stack.postgres, self.cfg.services, self.fleet.databases
        )
        if created:
            self.say(f"created databases: {', '.join(created)}")
        others = asyncio.gather(*(asyncio.to_thread(s.wait, 90) for s in self.stack.servers[1:]))
        await asyncio.gather(migrate(self.fleet, self.cfg.services, self.sink), others)
        took = time.monotonic() - began
        self.say(f"servers up, databases migrated in {took:.1f}s; starting {', '.join(self.fleet.names)}")
        await self.fleet.start(self.timeout)
        return time.monotonic() - began

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.on_signal, signum)
        boot = asyncio.create_task(self.boot())
        stop = asyncio.create_task(self.stop_requested.wait())
        code = 0
        try:
            await asyncio.wait({boot, stop}, return_when=asyncio.FIRST_COMPLETED)
            if boot.done():
                seconds = boot.result()
                for line in summary(self.fleet, self.stack, self.cfg, seconds):
                    self.say(line)
                await stop
            else:
                boot.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await boot
        except Exception as exc:
            self.say(f"!! {exc}")
            code = 1
        finally:
            stop.cancel()
            await self.shutdown()
        return code

    async def shutdown(self) -> None:
        began = time.monotonic()
        await self.fleet.stop()
        await asyncio.to_thread(self.stack.stop)
        for pgid in self.server_groups:  # e.g. beam.smp outliving the rabbitmq-server script after a forced stop
            _kill_group(pgid)
        leftovers.forget(self.cfg.var)
        self.say(f"stopped everything in {time.monotonic() - began:.1f}s")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    cfg = RunConfig.from_env(only=args.only)
    cfg.var.mkdir(parents=True, exist_ok=True)
    names = [RUN] + [s.name for s in cfg.services] + ([] if args.no_gateway else [GATEWAY])
    sink = Tee(Console(names, raw=args.raw_logs), Files(cfg.var / "logs", fresh=True))
    leftovers.clear(cfg.var, lambda text: sink.line(RUN, text))
    runner = Runner(cfg, sink, gateway=not args.no_gateway, timeout=args.timeout)
    try:
        code = asyncio.run(runner.run())
    finally:
        sink.close()
    sys.exit(code)
