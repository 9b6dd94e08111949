"""The proxy listener: HTTP/1.1 with keep-alive and in-order pipelining, Kong's phases per request.

Per connection, httptools parses requests as bytes arrive and queues them; they are handled one
at a time, in order, so responses never overtake each other. For each request: route match (at
headers time, so the body size limit is known before any body is read) -> access phase (plugins
by priority; the first response wins) -> body -> upstream -> header_filter on whatever response
was produced -> write -> log. Route plugin chains are resolved once, at load.

The common path is plain callbacks (no coroutine or future per request); only the rare steps that
wait (a JWKS refetch, a body still arriving, a new upstream connection) go through a task.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, cast

import httptools

from pfms_gateway.batch import Writer
from pfms_gateway.config import KongConfig, PluginConf, Route, Service
from pfms_gateway.exchange import Defer, Exchange, Response, message
from pfms_gateway.plugins.correlation_id import CorrelationIdPlugin
from pfms_gateway.plugins.cors import CorsPlugin
from pfms_gateway.plugins.jwt import CredentialStore, JwtPlugin
from pfms_gateway.plugins.prometheus import KONG_VERSION, Metrics, PrometheusPlugin
from pfms_gateway.plugins.rate_limiting import RateLimitingPlugin
from pfms_gateway.plugins.request_size import RequestSizePlugin, limit_bytes
from pfms_gateway.proxy import UpstreamError, UpstreamPool
from pfms_gateway.router import Router, normalize_path

log = logging.getLogger("pfms_gateway")

SERVER = f"kong/{KONG_VERSION}-local".encode()
VIA = b"1.1 " + SERVER
NO_ROUTE = message(404, "no Route matched with those values")
INTERNAL_ERROR = message(500, "An unexpected error occurred")
TOO_LARGE = message(413, "Request size limit exceeded")
BAD_REQUEST = message(400, "Bad request")

_REQ_SKIP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
        b"expect",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-forwarded-path",
        b"x-forwarded-prefix",
        b"x-real-ip",
    }
)
_RESP_SKIP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"proxy-connection"})
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_HEADER_NAMES = re.compile(rb"\r\n([^:\r\n]*):")
_PAUSE_QUEUE = 32
LINGERING_TIMEOUT = 2.0


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    return line if line is not None else f"HTTP/1.1 {status} Unknown\r\n".encode()


_date_cache: list[Any] = [0, b""]


def http_date(now: float) -> bytes:
    second = int(now)
    if second != _date_cache[0]:
        _date_cache[0] = second
        _date_cache[1] = formatdate(second, usegmt=True).encode()
    return cast(bytes, _date_cache[1])


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
    )

    def __init__(self, route: Route, service: Service, pool: UpstreamPool, plugins: list[Any], max_body: int) -> None:
        self.name = route.name
        self.service_name = service.name
        self.pool = pool
        self.preserve_host = route.preserve_host
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


def build_upstream_request(ex: Exchange, route: RouteRuntime, port_header: bytes) -> bytes:
    headers = ex.headers
    host = headers.get(b"host", b"")
    target = ex.path.encode("latin-1")
    if ex.query:
        target += b"?" + ex.query
    up_set = ex.up_set
    fwd = ex.fwd
    if not headers.keys().isdisjoint(up_set):  # a plugin replaces or clears a header the client sent
        fwd = [line for line, lname in zip(ex.fwd, ex.fwd_names, strict=True) if lname not in up_set]
    ip = ex.client_ip
    xff = headers.get(b"x-forwarded-for")
    body = b"".join(ex.body_parts) if ex.body_parts else b""
    length = b""
    if body or ex.method in _BODY_METHODS or b"content-length" in headers or b"transfer-encoding" in headers:
        length = b"Content-Length: %d\r\n" % len(body)
    return b"".join(
        (
            ex.method,
            b" ",
            target,
            b" HTTP/1.1\r\nHost: ",
            host if route.preserve_host else route.host_header,
            b"\r\n",
            *fwd,
            *filter(None, up_set.values()),
            b"X-Forwarded-For: ",
            xff + b", " + ip if xff else ip,
            b"\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ",
            host.rsplit(b":", 1)[0] if b"]" not in host else host,
            b"\r\nX-Forwarded-Port: ",
            port_header,
            b"\r\nX-Forwarded-Path: ",
            target.partition(b"?")[0],
            b"\r\nX-Real-IP: ",
            ip,
            b"\r\n",
            length,
            b"\r\n",
            body,
        )
    )


class ClientConnection(asyncio.Protocol):
    """One downstream connection."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.queue: deque[Exchange] = deque()
        self.ex: Exchange | None = None
        self.url = b""
        self.client_ip = b""
        self.busy = False  # a request is being handled
        self.dispatching = False  # inside _dispatch: completions must not re-enter it
        self.write_paused = False
        self.ignore_input = False
        self.reading_paused = False
        self.closed = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.writer: Writer = cast(Writer, None)  # set in connection_made

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        peer = transport.get_extra_info("peername")
        self.client_ip = (peer[0] if isinstance(peer, tuple) else "127.0.0.1").encode()
        metrics = self.gw.metrics
        metrics.connections_accepted += 1
        metrics.connections_active += 1
        self.writer = self.gw.start(self.loop)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.gw.metrics.connections_active -= 1
        self.queue.clear()
        for task in self.tasks:
            task.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        if self.ignore_input:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrades (websockets) are not proxied: answer the request as plain HTTP, then close.
            self.ignore_input = True
            if self.queue:
                self.queue[-1].keep_alive = False
        except httptools.HttpParserError:
            self.ignore_input = True
            ex = Exchange()
            ex.conn = self
            ex.method = b""  # marks a request that could not be parsed
            ex.keep_alive = False
            ex.body_complete = True
            ex.start = self.loop.time()
            self._enqueue(ex)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._dispatch()

    # --- httptools callbacks ---

    def on_message_begin(self) -> None:
        ex = Exchange()
        ex.start = self.loop.time()
        ex.conn = self
        ex.client_ip = self.client_ip
        self.ex = ex
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        ex = cast(Exchange, self.ex)
        line = name + b": " + value + b"\r\n"
        ex.request_size += len(line)
        lname = name.lower()
        if lname not in ex.headers:
            ex.headers[lname] = value
        if lname not in _REQ_SKIP:
            ex.fwd.append(line)
            ex.fwd_names.append(lname)

    def on_headers_complete(self) -> None:
        ex = cast(Exchange, self.ex)
        parser = self.parser
        ex.method = parser.get_method()
        ex.keep_alive = parser.should_keep_alive()
        if parser.get_http_version() == "1.0":
            ex.http_minor = 0
        url = self.url
        if url[:1] != b"/":
            try:
                parsed = httptools.parse_url(url)
                url = (parsed.path or b"/") + (b"?" + parsed.query if parsed.query else b"")
            except httptools.HttpParserInvalidURLError:
                url = b"/"
        raw_path, _, query = url.partition(b"?")
        if query:
            ex.query = query.partition(b"#")[0]
        ex.path = path = normalize_path(raw_path.decode("latin-1"))
        ex.route = route = self.gw.router.match(path)
        ex.request_size += len(url) + 14
        headers = ex.headers
        expect = headers.get(b"expect")
        if expect is not None and expect.strip().lower() == b"100-continue":
            ex.expect_continue = True
        cl = headers.get(b"content-length")
        if cl is None or cl == b"0":
            if b"transfer-encoding" not in headers:
                ex.body_complete = True  # no body: handle it right away
                self._enqueue(ex)
                return
        else:
            max_body = route.max_body if route is not None else self.gw.max_body
            if cl.strip().isdigit() and int(cl) > max_body:
                ex.oversize = True  # refused before any of the body is read
                ex.keep_alive = False
                self.ignore_input = True
                self._enqueue(ex)
                return
        if ex.expect_continue:
            self._enqueue(ex)  # the access phase decides whether the client may send the body
        # otherwise the request is queued once its body is in (on_message_complete)

    def on_body(self, body: bytes) -> None:
        ex = self.ex
        if ex is None or ex.oversize:
            return
        ex.body_size += len(body)
        ex.request_size += len(body)
        route = ex.route
        if ex.body_size > (route.max_body if route is not None else self.gw.max_body):
            ex.oversize = True
            ex.keep_alive = False
            ex.body_parts = ()
            self.ignore_input = True
            if ex.queued:
                self._body_done(ex)
            else:
                self._enqueue(ex)
            return
        if ex.body_parts:
            cast(list, ex.body_parts).append(body)
        else:
            ex.body_parts = [body]

    def on_message_complete(self) -> None:
        ex = self.ex
        if ex is None:
            return
        self.ex = None
        ex.body_complete = True
        if not ex.queued:
            self._enqueue(ex)
        elif ex.waiter is not None:
            self._body_done(ex)

    # --- request queue ---

    def _enqueue(self, ex: Exchange) -> None:
        ex.queued = True
        self.queue.append(ex)
        if len(self.queue) > _PAUSE_QUEUE and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        if not self.busy:
            self._dispatch()

    def _dispatch(self) -> None:
        """Start queued requests one at a time; a request finished synchronously lets the next start."""
        if self.dispatching:
            return
        self.dispatching = True
        try:
            queue = self.queue
            while queue and not self.busy and not self.closed and not self.write_paused:
                ex = queue.popleft()
                if self.reading_paused and len(queue) <= _PAUSE_QUEUE // 2 and self.transport is not None:
                    self.reading_paused = False
                    self.transport.resume_reading()
                self.busy = True
                try:
                    self._start(ex)
                except Exception:
                    log.exception("request failed")
                    self._complete(ex, INTERNAL_ERROR, None)
        finally:
            self.dispatching = False

    def _start(self, ex: Exchange) -> None:
        self.gw.metrics.nginx_requests_total += 1
        route = ex.route
        if route is None or not ex.method:
            self._complete(ex, NO_ROUTE if ex.method else BAD_REQUEST, None)
            return
        access = route.access
        for i in range(len(access)):
            result = access[i](ex)
            if result is not None:
                if result.__class__ is Defer:
                    self._spawn(self._continue(ex, route, i, result))
                    return
                self._complete(ex, result, route)
                return
        self._forward(ex, route)

    def _forward(self, ex: Exchange, route: RouteRuntime) -> None:
        if not ex.body_complete:
            if ex.oversize:
                self._complete(ex, TOO_LARGE, route)
            else:
                self._spawn(self._forward_after_body(ex, route))
            return
        data = build_upstream_request(ex, route, self.gw.port_header)
        ex.sent = self.loop.time()
        route.pool.send(data, ex.method == b"HEAD", ex.on_upstream)

    def upstream_done(self, ex: Exchange, result: Response | UpstreamError, first_byte: float) -> None:
        """Called by the upstream connection (through ex.on_upstream) with the response or an error."""
        if result.__class__ is UpstreamError:
            error = cast(UpstreamError, result)
            pool = cast(RouteRuntime, ex.route).pool
            log.warning("upstream %s:%s failed: %s", pool.host, pool.port, error.message)
            response = message(error.status, error.message)
        else:
            response = cast(Response, result)
            ex.upstream_latency = (first_byte - ex.sent) * 1000.0
        try:
            self._complete(ex, response, ex.route)
        except Exception:
            log.exception("request failed")
        self._dispatch()

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("request failed", exc_info=task.exception())
            self.busy = False
            self._close()
        else:
            self._dispatch()

    async def _continue(self, ex: Exchange, route: RouteRuntime, index: int, deferred: Defer) -> None:
        """Slow path: wait for what a plugin deferred on, re-run it once, then the rest of the chain."""
        access = route.access
        result: Any = deferred
        while True:
            try:
                await result.waiter
            except Exception:
                log.warning("deferred plugin step failed", exc_info=True)
            ex.retried = True
            result = access[index](ex)
            ex.retried = False
            if result.__class__ is Defer:
                result = INTERNAL_ERROR
            if result is not None:
                self._complete(ex, result, route)
                return
            for index in range(index + 1, len(access)):  # noqa: B020 - continue the chain from here
                result = access[index](ex)
                if result is not None:
                    break
            if result is None:
                self._forward(ex, route)
                return
            if result.__class__ is not Defer:
                self._complete(ex, result, route)
                return

    async def _forward_after_body(self, ex: Exchange, route: RouteRuntime) -> None:
        await self.wait_body(ex)
        self._forward(ex, route)

    def _body_done(self, ex: Exchange) -> None:
        waiter = ex.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wait_body(self, ex: Exchange) -> asyncio.Future[None]:
        """Resolves once the body is complete or known to be over the limit; sends 100 Continue if asked."""
        fut: asyncio.Future[None] = self.loop.create_future()
        if ex.body_complete or ex.oversize:
            fut.set_result(None)
            return fut
        if ex.expect_continue and self.transport is not None:
            ex.expect_continue = False
            self.writer.write(self.transport, b"HTTP/1.1 100 Continue\r\n\r\n")
        ex.waiter = fut
        return fut

    def _complete(self, ex: Exchange, response: Response, route: RouteRuntime | None) -> None:
        """header_filter -> write -> log, then free the connection for the next request (or close it)."""
        if route is not None:
            for header_filter in route.header_filter:
                header_filter(ex, response)
        size = self._write(ex, response)
        if route is not None and route.log:
            end = self.loop.time()
            for log_phase in route.log:
                log_phase(ex, response, size, end)
        self.busy = False
        if not ex.method or not (ex.keep_alive and ex.body_complete and not ex.oversize):
            self._close()

    def _close(self) -> None:
        """Close after the last response. With unread request bytes pending, close like nginx's
        lingering close: send FIN, drain input a little while, then close, so the client reads the
        response instead of getting a reset."""
        self.closed = True
        transport = self.transport
        if transport is None:
            return
        if self.ignore_input and transport.can_write_eof():
            self.writer.write_eof(transport)
            if self.reading_paused:
                self.reading_paused = False
                transport.resume_reading()
            self.loop.call_later(LINGERING_TIMEOUT, transport.close)
        else:
            self.writer.close(transport)

    def _write(self, ex: Exchange, response: Response) -> int:
        """Serialize and send; returns the bytes written (for the log phase)."""
        keep = ex.keep_alive and ex.body_complete and not ex.oversize
        resp_set = ex.resp_set
        raw = response.raw
        if raw is not None:
            if resp_set.keys().isdisjoint(_HEADER_NAMES.findall(response.low)):
                # relay the upstream's header block untouched, then the gateway's own lines
                upstream = ex.upstream_latency or 0.0
                data = b"".join(
                    (
                        response.status_line,
                        raw,
                        b"Via: %s\r\nX-Kong-Upstream-Latency: %d\r\nX-Kong-Proxy-Latency: %d\r\n"
                        % (VIA, upstream, max(0.0, (self.loop.time() - ex.start) * 1000 - upstream)),
                        *filter(None, resp_set.values()),
                        b"\r\n"
                        if keep and ex.http_minor
                        else b"Connection: keep-alive\r\n\r\n"
                        if keep
                        else b"Connection: close\r\n\r\n",
                        response.body,
                    )
                )
                if self.transport is not None:
                    self.writer.write(self.transport, data)
                return len(data)
            response.headers = _split_headers(raw)
        status = response.status
        parts = [_status_line(status)]
        head_length: bytes | None = None
        now = self.loop.time()
        if response.source == "service":
            for name, value in response.headers:
                lname = name.lower()
                if lname in _RESP_SKIP or lname in resp_set:
                    if lname == b"content-length":
                        head_length = value
                    continue
                parts += (name, b": ", value, b"\r\n")
            upstream = ex.upstream_latency or 0.0
            parts.append(
                b"Via: %s\r\nX-Kong-Upstream-Latency: %d\r\nX-Kong-Proxy-Latency: %d\r\n"
                % (VIA, upstream, max(0.0, (now - ex.start) * 1000 - upstream))
            )
        else:
            parts.append(
                b"Date: %s\r\nServer: %s\r\nX-Kong-Response-Latency: %d\r\n"
                % (http_date(time.time()), SERVER, (now - ex.start) * 1000)
            )
            for name, value in response.headers:
                if name.lower() not in resp_set:
                    parts += (name, b": ", value, b"\r\n")
        parts += filter(None, resp_set.values())
        body = response.body
        if ex.method == b"HEAD":
            if head_length is not None:
                parts += (b"Content-Length: ", head_length, b"\r\n")
            body = b""
        elif status >= 200 and status != 204 and status != 304:
            parts.append(b"Content-Length: %d\r\n" % len(body))
        else:
            body = b""
        if not keep:
            parts.append(b"Connection: close\r\n")
        elif ex.http_minor == 0:
            parts.append(b"Connection: keep-alive\r\n")
        parts += (b"\r\n", body)
        data = b"".join(parts)
        if self.transport is not None:
            self.writer.write(self.transport, data)
        return len(data)


def _split_headers(raw: bytes) -> list[tuple[bytes, bytes]]:
    headers = []
    for line in raw.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name:
            headers.append((name, value.strip()))
    return headers


class StatusConnection(asyncio.Protocol):
    """Kong's status listener: GET /metrics (Prometheus text) and GET /status."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_message_complete(self) -> None:
        path = self.url.partition(b"?")[0]
        if path == b"/metrics":
            body = self.gw.metrics.render().encode()
            ctype = b"text/plain; version=0.0.4; charset=utf-8"
            status = 200
        elif path == b"/status":
            m = self.gw.metrics
            body = (
                b'{"server":{"connections_accepted":%d,"connections_active":%d,"total_requests":%d},'
                b'"database":{"reachable":true}}'
                % (m.connections_accepted, m.connections_active, m.nginx_requests_total)
            )
            ctype = b"application/json; charset=utf-8"
            status = 200
        else:
            body = b'{"message":"Not found"}'
            ctype = b"application/json; charset=utf-8"
            status = 404
        keep = self.parser.should_keep_alive()
        head = _status_line(status) + b"Content-Type: " + ctype + b"\r\nContent-Length: %d\r\n" % len(body)
        head += b"Server: " + SERVER + b"\r\n" + (b"" if keep else b"Connection: close\r\n") + b"\r\n"
        if self.transport is not None:
            self.transport.write(head + body)
            if not keep:
                self.transport.close()
