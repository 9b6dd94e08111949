"""The loaded config as runtime objects: plugin instances, upstream pools and the router.

Plugin chains are resolved once per route here (Kong's precedence, priorities), so the request
path only walks precomputed tuples.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pfms_gateway.batch import Writer
from pfms_gateway.config import KongConfig, PluginConf, Route, Service
from pfms_gateway.exchange import Exchange, Response
from pfms_gateway.plugins.correlation_id import CorrelationIdPlugin
from pfms_gateway.plugins.cors import CorsPlugin
from pfms_gateway.plugins.jwt import CredentialStore, JwtPlugin
from pfms_gateway.plugins.prometheus import Metrics, PrometheusPlugin
from pfms_gateway.plugins.rate_limiting import RateLimitingPlugin
from pfms_gateway.plugins.request_size import RequestSizePlugin, limit_bytes
from pfms_gateway.proxy import UpstreamPool
from pfms_gateway.router import Router


class RouteRuntime:
    """A route with everything the hot path needs precomputed: upstream pool, Host, plugin phases."""

    __slots__ = (
        "access",
        "header_filter",
        "host_header",
        "log",
        "max_body",
        "name",
        "plugins",
        "pool",
        "preserve_host",
        "service_name",
        "stream",
    )

    def __init__(self, route: Route, service: Service, pool: UpstreamPool, plugins: list[Any], max_body: int) -> None:
        self.name = route.name
        self.service_name = service.name
        self.pool = pool
        self.preserve_host = route.preserve_host
        self.stream = not route.response_buffering  # Kong's route.response_buffering: false
        host = service.host if service.port == 80 else f"{service.host}:{service.port}"
        self.host_header = host.encode()
        self.plugins = plugins
        self.max_body = max_body
        self.access: tuple[Callable[[Exchange], Any], ...] = tuple(p.access for p in plugins if hasattr(p, "access"))
        self.header_filter: tuple[Callable[[Exchange, Response], None], ...] = tuple(
            p.header_filter for p in plugins if hasattr(p, "header_filter")
        )
        self.log: tuple[Callable[[Exchange, Response, int, float], None], ...] = tuple(
            p.log for p in plugins if hasattr(p, "log")
        )


class Gateway:
    """Config turned into runtime objects: one plugin object per configured instance, pools, router."""

    def __init__(
        self,
        config: KongConfig,
        upstreams: dict[str, tuple[str, int]] | None = None,
        *,
        max_body: int = 128 * 1024 * 1024,
        port: int = 3000,
    ) -> None:
        self.config = config
        self.metrics = Metrics()
        self.store = CredentialStore(config.consumers)
        self.max_body = max_body
        self.background: set[asyncio.Future[None]] = set()
        self.port_header = str(port).encode()
        upstreams = upstreams or {}
        self._instances: dict[str, Any] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self.writer: Writer | None = None
        # downstream connections, for nginx's keepalive/client_header/client_body timeouts (60 s)
        self.connections: set[Any] = set()
        self.idle_timeout = 60.0
        self.pools: dict[str, UpstreamPool] = {}
        self.routes: dict[str, RouteRuntime] = {}
        entries: list[tuple[str, int, RouteRuntime]] = []
        for service in config.services:
            host, port_ = upstreams.get(service.name) or upstreams.get(service.host) or (service.host, service.port)
            pool = UpstreamPool(
                host, port_, connect_timeout=service.connect_timeout / 1000, read_timeout=service.read_timeout / 1000
            )
            self.pools[service.name] = pool
            for route in service.routes:
                effective = config.effective_plugins(route)
                plugins = [self._instance(p) for p in effective.values()]
                size = effective.get("request-size-limiting")
                # Buffer up to the route's limit; past it the body is dropped and the request refused.
                route_max = min(limit_bytes(size), max_body) if size is not None else max_body
                runtime = RouteRuntime(route, service, pool, plugins, route_max)
                self.routes[route.name] = runtime
                entries.extend((path, route.regex_priority, runtime) for path in route.paths)
        self.router: Router[RouteRuntime] = Router(entries)
        self.metrics.upstream_health = self._upstream_health

    def _instance(self, conf: PluginConf) -> Any:
        """Service- and global-scoped instances are shared by their routes (their counters too)."""
        existing = self._instances.get(conf.uid)
        if existing is not None:
            return existing
        plugin: Any
        if conf.name == "jwt":
            plugin = JwtPlugin(conf, self.store)
        elif conf.name == "rate-limiting":
            plugin = RateLimitingPlugin(conf)
        elif conf.name == "cors":
            plugin = CorsPlugin(conf)
        elif conf.name == "correlation-id":
            plugin = CorrelationIdPlugin(conf)
        elif conf.name == "request-size-limiting":
            plugin = RequestSizePlugin(conf)
        elif conf.name == "prometheus":
            plugin = PrometheusPlugin(conf, self.metrics)
        else:  # config.py already refused it
            raise ValueError(conf.name)
        self._instances[conf.uid] = plugin
        return plugin

    def start(self, loop: asyncio.AbstractEventLoop) -> Writer:
        """Bind to the running loop (idempotent): the shared writer and the read-timeout sweep."""
        if self.writer is None:
            self.writer = Writer(loop)
            for pool in self.pools.values():
                pool.writer = self.writer
            self._sweep(loop)
        return self.writer

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for pool in self.pools.values():
            if pool.busy:
                pool.sweep(now)
        idle_before = now - self.idle_timeout
        for conn in [c for c in self.connections if c.active_at < idle_before]:
            conn.idle_timeout()
        self._sweeper = loop.call_later(1.0, self._sweep, loop)

    def _upstream_health(self) -> list[tuple[tuple[str, ...], int]]:
        rows: list[tuple[tuple[str, ...], int]] = []
        for name, pool in self.pools.items():
            target = f"{pool.host}:{pool.port}"
            for state in ("healthchecks_off", "healthy", "unhealthy", "dns_error"):
                rows.append(((name, target, target, state, "http"), 1 if state == "healthchecks_off" else 0))
        return rows

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for task in self.background:
            task.cancel()
        for pool in self.pools.values():
            pool.close()
