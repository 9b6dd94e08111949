"""The proxy listener: HTTP/1.1 with keep-alive and in-order pipelining, Kong's phases per request.

Per connection, httptools parses requests as bytes arrive and queues them; they are handled one
at a time, in order, so responses never overtake each other. For each request: route match (at
headers time, so the body size limit is known before any body is read) -> access phase (plugins
by priority; the first response wins) -> body -> upstream -> header_filter on whatever response
was produced -> write -> log. Route plugin chains are resolved once, at load.

The common path is plain callbacks (no coroutine or future per request); only the rare steps that
wait (a JWKS refetch, a body still arriving, a new upstream connection) go through a task.

On a route with `response_buffering: false` the upstream response is streamed: header_filter runs on
its head, which is written at once, then each body piece as it arrives (re-framed as chunked unless
the upstream gave a Content-Length). The stream occupies the connection until it ends, so pipelined
requests still get their answers in order; the client going away closes the upstream connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, cast

import httptools

from pfms_gateway.batch import Writer
from pfms_gateway.exchange import Defer, Exchange, Response, message
from pfms_gateway.proxy import UpstreamConnection, UpstreamError
from pfms_gateway.router import normalize_path
from pfms_gateway.runtime import Gateway, RouteRuntime
from pfms_gateway.streaming import StreamingResponses
from pfms_gateway.wire import REQ_SKIP, build_upstream_request, serialize_response

log = logging.getLogger("pfms_gateway")

NO_ROUTE = message(404, "no Route matched with those values")
INTERNAL_ERROR = message(500, "An unexpected error occurred")
TOO_LARGE = message(413, "Request size limit exceeded")
BAD_REQUEST = message(400, "Bad request")
_PAUSE_QUEUE = 32
_EARLY_ACCESS_BODY = 64 * 1024
LINGERING_TIMEOUT = 2.0


class ClientConnection(StreamingResponses, asyncio.Protocol):
    """One downstream connection (its streamed responses: streaming.py)."""

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
        self.must_close = False  # close once the queued responses are out
        self.tasks: set[asyncio.Task[None]] = set()
        self.writer: Writer = cast(Writer, None)  # set in connection_made
        self.on_upstream = self.upstream_done  # bound once, handed to the pool with every request
        self.active_at = 0.0
        # the response being streamed, if any: its exchange, upstream connection, head, framing, bytes sent
        self.stream_ex: Exchange | None = None
        self.upstream: UpstreamConnection | None = None
        self.stream_response: Response | None = None
        self.chunked = False
        self.stream_size = 0
        self.paused_at = 0.0

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        peer = transport.get_extra_info("peername")
        self.client_ip = (peer[0] if isinstance(peer, tuple) else "127.0.0.1").encode()
        metrics = self.gw.metrics
        metrics.connections_accepted += 1
        metrics.connections_active += 1
        self.writer = self.gw.start(self.loop)
        self.active_at = self.loop.time()
        self.gw.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gw.connections.discard(self)
        self.closed = True
        self.gw.metrics.connections_active -= 1
        self.queue.clear()
        for task in self.tasks:
            task.cancel()
        self.transport = None
        upstream, ex = self.upstream, self.stream_ex
        if upstream is not None and ex is not None:  # mid-stream: the upstream connection goes too
            upstream.abort()
            self._stream_done(ex, False)  # and the log phase records what was sent

    def data_received(self, data: bytes) -> None:
        self.active_at = self.loop.time()
        if self.ignore_input:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrades (websockets) are not proxied: answer the request as plain HTTP, then close.
            self.ignore_input = True
            self.must_close = True
            if not self.busy and not self.queue:
                self._close()
        except httptools.HttpParserError:
            self.ignore_input = True
            ex = Exchange()
            ex.conn = self
            ex.method = b""  # marks a request that could not be parsed
            ex.keep_alive = False
            ex.body_complete = True
            ex.start = self.loop.time()
            self._enqueue(ex)

    def idle_timeout(self) -> None:
        """Nothing received for a while: close, unless a response is still being produced. A stream the
        client has not taken anything of for as long is dropped (nginx's send_timeout)."""
        transport = self.transport
        if transport is None:
            return
        now = self.loop.time()
        if not self.busy:
            transport.close()
        elif self.upstream is not None and self.write_paused and now - self.paused_at >= self.gw.idle_timeout:
            transport.abort()  # its buffered bytes would never drain; connection_lost closes the upstream
        else:
            self.active_at = now

    def pause_writing(self) -> None:
        self.write_paused = True
        self.paused_at = self.loop.time()
        if self.upstream is not None:
            self.upstream.pause()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.upstream is not None:
            self.upstream.resume()
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
        if lname not in REQ_SKIP:
            ex.fwd.append(line)
            ex.fwd_names.append(lname)

    def on_headers_complete(self) -> None:
        ex = cast(Exchange, self.ex)
        parser = self.parser
        ex.method = parser.get_method()
        ex.keep_alive = keep = parser.should_keep_alive()
        if (not keep or b"connection" in ex.headers) and parser.get_http_version() == "1.0":
            ex.http_minor = 0  # HTTP/1.0: a keep-alive response must say so, and no chunked encoding
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
        if (cl is None or cl == b"0") and b"transfer-encoding" not in headers:
            ex.body_complete = True  # no body: handle it right away
            if self.busy or self.queue or self.dispatching or self.closed or self.write_paused:
                self._enqueue(ex)
            else:  # the usual keep-alive request: nothing queued, start it here
                ex.queued = True
                self.busy = True
                try:
                    self._start(ex)
                except Exception:
                    self._failed(ex)
            return
        if route is None:
            ex.keep_alive = False  # 404 without reading the body, then close
            self.ignore_input = True
            self._enqueue(ex)
            return
        length = int(cl) if cl is not None and cl.strip().isdigit() else -1
        if length > route.max_body:
            ex.oversize = True  # refused before any of the body is read
            ex.keep_alive = False
            self.ignore_input = True
            self._enqueue(ex)
            return
        if ex.expect_continue or length < 0 or length > _EARLY_ACCESS_BODY:
            # Run the access phase (jwt, limits) before taking in a large or unknown-size body, as
            # Kong does: an unauthenticated client cannot make the gateway buffer megabytes.
            self._enqueue(ex)
        # otherwise (a small body) the request is queued once its body is in (on_message_complete)

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
                    self._failed(ex)
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
        if ex.body_complete:
            data = build_upstream_request(ex, route, self.gw.port_header)
            ex.sent = self.loop.time()
            route.pool.send(data, ex.method == b"HEAD", self.on_upstream, ex, True, self if route.stream else None)
        else:
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
        route.pool.send(data, ex.method == b"HEAD", self.on_upstream, ex, True, self if route.stream else None)

    def upstream_done(self, ex: Exchange, result: Response | UpstreamError, first_byte: float) -> None:
        """Called by the upstream connection with the response or an error."""
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
            self._failed(ex)
        self._dispatch()

    def _failed(self, ex: Exchange) -> None:
        """A bug in the gateway while handling `ex`: answer 500 if nothing was sent yet, then close
        (the connection's state can no longer be trusted)."""
        log.exception("request failed")
        if not ex.responded:
            ex.keep_alive = False
            self._write(ex, INTERNAL_ERROR)
        self.busy = False
        self._close()

    def _spawn(self, coro: Any) -> None:
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("request failed", exc_info=task.exception())
            self.busy = False
            self._close()  # the exchange it was handling is unknown here: no 500, just close
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
        reusable = ex.method and ex.keep_alive and ex.body_complete and not ex.oversize
        if not reusable or (self.must_close and not self.queue):
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
        """Serialize and send (coalesced); returns the bytes written, for the log phase."""
        ex.responded = True
        data = serialize_response(ex, response, self.loop.time())
        if self.transport is not None:
            self.writer.write(self.transport, data)
        return len(data)
