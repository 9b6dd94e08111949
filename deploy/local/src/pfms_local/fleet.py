"""The fleet as a Python API: every service and the gateway as real processes wired to one Stack.

`make run` (fixed ports, persistent data) and the end-to-end tests (free ports, fresh databases)
both drive this class, so what the tests exercise is what a developer runs.
"""

import asyncio
import importlib
import inspect
import json
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from pfms_devservers import Stack
from pfms_local.config import ROOT
from pfms_local.logs import Files, Sink, Tee
from pfms_local.supervisor import NotReady, Spec, Supervisor
from pfms_platform.catalogue import SERVICES, ServiceInfo

T = TypeVar("T")

GATEWAY = "gateway"


def executable(name: str) -> str:
    """A console script of the workspace: beside the running interpreter (the venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: run `make setup` (uv sync --all-packages)")
    return found


async def wait_for(
    predicate: Callable[[], T | Awaitable[T]], timeout: float = 10.0, interval: float = 0.1, message: str = ""
) -> T:
    """Poll `predicate` (sync or async) until it returns something truthy, and return that.

    Events travel asynchronously (outbox → broker → consumer), so a test asks "eventually?" instead
    of sleeping. Exceptions inside the predicate count as "not yet"; the last one is reported.
    """
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            detail = f"; last error: {last!r}" if last else ""
            raise TimeoutError(f"{message or 'condition'} not met within {timeout}s{detail}")
        await asyncio.sleep(interval)


class Fleet:
    """Services + gateway under one Supervisor; `start`, `stop`, `kill`, `restart`, URLs."""

    def __init__(
        self,
        stack: Stack,
        *,
        sink: Sink,
        services: tuple[ServiceInfo, ...] = SERVICES,
        ports: Mapping[str, int] | None = None,
        gateway_port: int,
        gateway_status_port: int,
        vhost: str = "/",
        redis_db: int = 0,
        databases: Mapping[str, str] | None = None,
        mongo_database: str = "pfms_ai",
        environment: str = "development",
        extra_env: Mapping[str, str] | None = None,
        environ_wins: bool = False,
        gateway: bool = True,
        root: Path = ROOT,
        autorestart: bool = True,
    ) -> None:
        self.stack = stack
        self.sink = sink
        self.services = services
        self.ports = {s.name: s.port for s in SERVICES} | dict(ports or {})
        self.gateway_port = gateway_port
        self.gateway_status_port = gateway_status_port
        self.vhost = vhost
        self.redis_db = redis_db
        self.databases = {s.name: s.database for s in SERVICES} | dict(databases or {})
        self.mongo_database = mongo_database
        self.environment = environment
        self.extra_env = dict(extra_env or {})
        self.environ_wins = environ_wins
        self.with_gateway = gateway
        self.root = root
        self.supervisor = Supervisor(sink, autorestart=autorestart)
        self._http = httpx.AsyncClient(timeout=2.0)
        self.started_in: float | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.services] + ([GATEWAY] if self.with_gateway else [])

    def url(self, name: str) -> str:
        port = self.gateway_port if name == GATEWAY else self.ports[name]
        return f"http://127.0.0.1:{port}"

    @property
    def gateway_url(self) -> str:
        return self.url(GATEWAY)

    @property
    def urls(self) -> dict[str, str]:
        return {s.name: self.url(s.name) for s in self.services}

    @property
    def jwks_url(self) -> str:
        return f"{self.url('auth')}/.well-known/jwks.json"

    # -- what each process gets --------------------------------------------------------------

    def service_env(self, info: ServiceInfo) -> dict[str, str]:
        """The settings of one service (`PFMS_<SVC>_*`), wired to this fleet's servers and ports."""
        values = {
            "ENVIRONMENT": self.environment,
            "HOST": "127.0.0.1",
            "PORT": str(self.ports[info.name]),
            "AMQP_URL": self.stack.rabbitmq.url(self.vhost),
            "REDIS_URL": self.stack.redis.url(self.redis_db),
            "JWKS_URL": self.jwks_url,
            "RELAY_ENABLED": "true",
            "CONSUMERS_ENABLED": "true",
            "SERVICE_URLS": json.dumps({s.name: self.url(s.name) for s in self.services}),
        }
        if info.store == "mongo":
            values |= {"MONGO_URL": self.stack.mongo.url(), "MONGO_DATABASE": self.mongo_database}
        else:
            values["DATABASE_URL"] = self.stack.postgres.url(self.databases[info.name])
        fields = importlib.import_module(f"{info.package}.settings").Settings.model_fields
        values |= {k.upper(): str(v) for k, v in self.stack.settings_for(fields).items()}
        return self._env({info.env_prefix + k: v for k, v in values.items()})

    def gateway_env(self) -> dict[str, str]:
        upstreams = ",".join(f"{name}=127.0.0.1:{port}" for name, port in self.ports.items())
        return self._env({"PFMS_GATEWAY_UPSTREAMS": upstreams})

    def _env(self, ours: dict[str, str]) -> dict[str, str]:
        env = {**os.environ, **self.extra_env}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # let the fleet's imports be cached between starts
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.environ_wins:
            return {**ours, **env}
        return {**env, **ours}

    def service_spec(self, info: ServiceInfo) -> Spec:
        async def probe() -> bool:
            return await self.ready(info.name)

        return Spec(info.name, [executable(f"pfms-{info.name}"), "serve"], self.service_env(info), probe, self.root)

    def gateway_spec(self) -> Spec:
        async def probe() -> bool:
            try:
                await self._http.get(self.gateway_url + "/")
            except httpx.HTTPError:
                return False
            return True

        argv = [
            executable("pfms-gateway"),
            "--config",
            str(self.root / "gateway" / "kong.yml"),
            "--port",
            str(self.gateway_port),
            "--status-port",
            str(self.gateway_status_port),
            "--jwks-url",
            self.jwks_url,
        ]
        return Spec(GATEWAY, argv, self.gateway_env(), probe, self.root)

    # -- lifecycle ---------------------------------------------------------------------------

    async def ready(self, name: str) -> bool:
        """True when the service's `/ready` answers 200 (database, broker and cache reachable)."""
        try:
            return (await self._http.get(self.url(name) + "/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    async def start(self, timeout: float = 120.0) -> None:
        """Start the services at once, the gateway as soon as auth serves its keys; return when
        every `/ready` is 200 and the gateway answers."""
        began = time.monotonic()
        services = [s.name for s in self.services]
        for info in self.services:
            self.supervisor.start(self.service_spec(info))
        try:
            if self.with_gateway:
                if "auth" in services:  # the gateway's first JWKS fetch then succeeds
                    await self.supervisor.wait_ready(["auth"], timeout)
                self.supervisor.start(self.gateway_spec())
            await self.supervisor.wait_ready(self.names, max(1.0, timeout - (time.monotonic() - began)))
        except NotReady as exc:
            raise NotReady(exc.names, timeout, self._tails(exc.names)) from None
        self.started_in = time.monotonic() - began

    @property
    def files(self) -> Files | None:
        """The per-process log files, when the fleet writes them."""
        sinks = self.sink.sinks if isinstance(self.sink, Tee) else (self.sink,)
        return next((s for s in sinks if isinstance(s, Files)), None)

    def _tails(self, names: list[str]) -> str:
        files = self.files
        if files is None:
            return ""
        return "".join(f"\n--- last lines of {files.path(name)} ---\n{files.tail(name)}" for name in names)

    async def stop(self) -> None:
        """Services first (they drain their consumers and relays), then the gateway."""
        await self.supervisor.stop([s.name for s in self.services if s.name in self.supervisor.children])
        if GATEWAY in self.supervisor.children:
            await self.supervisor.stop([GATEWAY])
        await self._http.aclose()
        self._http = httpx.AsyncClient(timeout=2.0)

    def kill(self, name: str) -> None:
        """SIGKILL a service (or the gateway) as a crash would; it stays down until `restart`."""
        self.supervisor.kill(name)

    async def restart(self, name: str, timeout: float = 60.0) -> None:
        """Start a killed or running service again and wait until it is ready."""
        await self.supervisor.restart(name)
        await self.supervisor.wait_ready([name], timeout)

    def pid(self, name: str) -> int | None:
        return self.supervisor[name].pid

    def log(self, name: str, lines: int = 50) -> str:
        """The last lines a process wrote (when the fleet logs to files, as in tests)."""
        return self.files.tail(name, lines) if self.files else ""

    async def ready_report(self) -> dict[str, Any]:
        """Every service's `/ready` body, by name (for tests and the runner's summary)."""

        async def one(name: str) -> Any:
            try:
                response = await self._http.get(self.url(name) + "/ready")
                return {"status_code": response.status_code, **response.json()}
            except (httpx.HTTPError, ValueError) as exc:
                return {"status_code": None, "error": repr(exc)}

        results = await asyncio.gather(*(one(s.name) for s in self.services))
        return dict(zip([s.name for s in self.services], results, strict=True))
