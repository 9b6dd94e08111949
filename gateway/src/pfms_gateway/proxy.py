"""Upstream HTTP/1.1 client: keep-alive connection pools over raw asyncio protocols + httptools.

Callback style on purpose: a request on an idle pooled connection costs one write and, when the
response is parsed, one call back into the downstream connection, with no future or task. One
request at a time per connection; idle connections are reused (LIFO) and dropped after an idle
timeout shorter than typical upstream keep-alive timeouts. A pooled connection that the upstream
had closed before answering is retried once on a fresh one. Failures map to Kong's answers:
refused/reset/broken response -> 502, name resolution -> 503, timeout -> 504. Read timeouts are
enforced by a once-a-second sweep rather than a timer per request.

A request sent with a `sink` (a route with `response_buffering: false`) is streamed: once the final
response head is parsed it goes to `sink.stream_head`, each body piece to `sink.stream_chunk` as it
arrives, then `sink.stream_end` (or `sink.stream_abort` if the upstream fails mid-body). The read
timeout then runs between reads, as nginx's proxy_read_timeout does. A response that arrives whole
in one read still takes the buffered fast path: nothing of it was waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any, Protocol, cast

import httptools

from pfms_gateway.batch import Writer
from pfms_gateway.exchange import Response

_EMPTY: list[tuple[bytes, bytes]] = []
BAD_GATEWAY = "An invalid response was received from the upstream server"
TIMEOUT = "The upstream server is timing out"
NAME_RESOLUTION = "name resolution failed"


class UpstreamError(Exception):
    """The upstream could not give a response; status/message are what Kong answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# on_done(tag, response or error, time the first response byte arrived (loop.time())); tag is the caller's
Callback = Callable[[Any, Response | UpstreamError, float], None]


class StreamSink(Protocol):
    """Where a streamed response goes (the downstream connection); tag is the caller's, as for on_done."""

    def stream_head(
        self, tag: Any, response: Response, first_byte: float, upstream: UpstreamConnection, framed: bool
    ) -> None: ...

    def stream_chunk(self, tag: Any, data: bytes) -> None: ...

    def stream_end(self, tag: Any) -> None: ...

    def stream_abort(self, tag: Any) -> None: ...


class UpstreamConnection(asyncio.Protocol):
    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.on_done: Callback | None = None
        self.sink: StreamSink | None = None  # set for a request whose response is streamed
        self.streaming = False  # the head went to the sink; body pieces follow it there
        self.tag: Any = None
        self.data = b""
        self.reused = False
        self.head_only = False
        self.received = False
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.status = 0
        self.keep_alive = True
        self.reusable = True
        self.idle_since = 0.0
        self.first_byte = 0.0
        self.deadline = 0.0

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        if self.on_done is None:
            self.reusable = False  # unsolicited bytes: never reuse
            self.close()
            return
        if not self.received:
            self.received = True
            self.first_byte = self.loop.time()
            if not self.head_only and self._whole_response(data):
                return
        if self.streaming:
            self.deadline = self.loop.time() + self.pool.read_timeout  # an idle timeout between reads
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail(UpstreamError(502, BAD_GATEWAY))

    def _whole_response(self, data: bytes) -> bool:
        """Fast path for the usual case: a whole HTTP/1.1 response with Content-Length in one read
        and no hop-by-hop headers. Anything else (chunked, partial, 1xx, Connection headers, odd
        framing) returns False and goes through httptools."""
        end = data.find(b"\r\n\r\n")
        if end < 0 or not data.startswith(b"HTTP/1.1 "):
            return False
        eol = data.find(b"\r\n")
        code = data[9:12]
        if not code.isdigit() or code[0] == 49:  # 1xx: let the parser skip interim responses
            return False
        raw = data[eol : end + 2]  # "\r\nName: value ... \r\n"
        low = raw.lower()
        at = low.find(b"\r\ncontent-length:")
        if at < 0 or low.find(b"\r\ncontent-length:", at + 2) >= 0:
            return False
        value = raw[at + 17 : raw.find(b"\r\n", at + 2)].strip()
        if not value.isdigit() or int(value) != len(data) - end - 4:
            return False
        if (
            b"\r\ntransfer-encoding:" in low
            or b"\r\nconnection:" in low
            or b"\r\nkeep-alive:" in low
            or b"\r\nproxy-connection:" in low
            or b"\n " in raw
            or b"\n\t" in raw
        ):
            return False
        response = Response(int(code), _EMPTY, data[end + 4 :], "service")
        response.raw = raw[2:]
        response.low = low
        response.status_line = data[: eol + 2]
        self.keep_alive = True
        self._done(response)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        if self.on_done is not None:
            if not self.received:
                if self.reused:  # the upstream had closed this idle connection: it never saw the request
                    on_done, tag, data, head_only, sink = self.on_done, self.tag, self.data, self.head_only, self.sink
                    self._reset()
                    self.pool.send(data, head_only, on_done, tag, use_idle=False, sink=sink)
                    return
                self.fail(UpstreamError(502, BAD_GATEWAY))
            elif self.status and not self._has_length():
                # body delimited by connection close
                if self.streaming:
                    self._stream_end()
                else:
                    self.finish()
            else:
                self.fail(UpstreamError(502, BAD_GATEWAY))

    # --- httptools callbacks ---

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()
        if self.head_only and self.status >= 200:
            # httptools cannot be told that a HEAD response has no body: finish now, never reuse.
            self.reusable = False
            self.finish()
        elif self.sink is not None and self.status >= 200:
            self.streaming = True
            self.deadline = self.loop.time() + self.pool.read_timeout
            response = Response(self.status, self.headers, b"", "service")
            self.sink.stream_head(self.tag, response, self.first_byte, self, self._has_length())

    def on_body(self, body: bytes) -> None:
        if self.streaming:
            cast(StreamSink, self.sink).stream_chunk(self.tag, body)
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200 and self.status != 101:
            self.headers = []  # interim response: wait for the final one
            self.body = []
            return
        if self.streaming:
            self._stream_end()
        else:
            self.finish()

    # --- request lifecycle ---

    def send(
        self, data: bytes, head_only: bool, on_done: Callback, tag: Any, reused: bool, sink: StreamSink | None = None
    ) -> None:
        self.on_done = on_done
        self.sink = sink
        self.tag = tag
        self.data = data
        self.reused = reused
        self.head_only = head_only
        self.received = False
        self.headers = []
        self.body = []
        self.status = 0
        self.deadline = self.loop.time() + self.pool.read_timeout
        self.pool.busy.add(self)
        assert self.transport is not None
        cast(Writer, self.pool.writer).write(self.transport, data)

    def _has_length(self) -> bool:
        return any(name.lower() in (b"content-length", b"transfer-encoding") for name, _ in self.headers)

    def _reset(self) -> None:
        self.on_done = None
        self.sink = None
        self.streaming = False
        self.tag = None
        self.data = b""
        self.pool.busy.discard(self)

    def finish(self) -> None:
        body = self.body
        self._done(Response(self.status, self.headers, body[0] if len(body) == 1 else b"".join(body), "service"))

    def _done(self, response: Response) -> None:
        on_done = self.on_done
        if on_done is None:
            return
        tag = self.tag
        first_byte = self.first_byte
        self._reset()
        if not self.keep_alive:
            self.reusable = False
        self.pool.release(self)
        on_done(tag, response, first_byte)

    def _stream_end(self) -> None:
        sink, tag = cast(StreamSink, self.sink), self.tag
        self._reset()
        if not self.keep_alive:
            self.reusable = False
        self.pool.release(self)
        sink.stream_end(tag)

    def fail(self, error: UpstreamError) -> None:
        self.reusable = False
        on_done, tag, sink, streaming = self.on_done, self.tag, self.sink, self.streaming
        self._reset()
        self.close()
        if streaming:
            cast(StreamSink, sink).stream_abort(tag)  # the head is out: too late for a 502/504
        elif on_done is not None:
            on_done(tag, error, 0.0)

    def abort(self) -> None:
        """The client went away: drop the request and this connection (never back to the pool mid-response)."""
        self.reusable = False
        self._reset()
        self.close()

    def pause(self) -> None:
        """The client is not taking data: stop reading the upstream, and no read timeout meanwhile."""
        self.deadline = float("inf")
        if self.transport is not None:
            self.transport.pause_reading()

    def resume(self) -> None:
        self.deadline = self.loop.time() + self.pool.read_timeout
        if self.transport is not None:
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Keep-alive connections to one upstream address."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
        max_idle: int = 256,
        idle_timeout: float = 4.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self.idle_timeout = idle_timeout
        self.idle: list[UpstreamConnection] = []
        self.busy: set[UpstreamConnection] = set()
        self.loop: Any = None
        self.writer: Writer | None = None  # the gateway's coalescing Writer, set when it starts
        self.last_error: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def send(
        self,
        data: bytes,
        head_only: bool,
        on_done: Callback,
        tag: Any = None,
        use_idle: bool = True,
        sink: StreamSink | None = None,
    ) -> None:
        """Send one serialized request; on_done(tag, ...) gets the response or an UpstreamError (with a
        sink, a response that does not arrive whole is streamed to it instead)."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self.writer = self.writer or Writer(self.loop)
        idle = self.idle
        if use_idle and idle:
            conn = idle[-1]  # the most recently used connection, usually still good
            if conn.transport is not None and conn.reusable and self.loop.time() - conn.idle_since <= self.idle_timeout:
                idle.pop()
                conn.send(data, head_only, on_done, tag, True, sink)
                return
            found = self._take_idle()
            if found is not None:
                found.send(data, head_only, on_done, tag, True, sink)
                return
        task = self.loop.create_task(self._connect_and_send(data, head_only, on_done, tag, sink))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect_and_send(
        self, data: bytes, head_only: bool, on_done: Callback, tag: Any, sink: StreamSink | None
    ) -> None:
        try:
            conn = await self._connect()
        except UpstreamError as exc:
            on_done(tag, exc, 0.0)
            return
        conn.send(data, head_only, on_done, tag, False, sink)

    async def _connect(self) -> UpstreamConnection:
        try:
            _, proto = await asyncio.wait_for(
                self.loop.create_connection(lambda: UpstreamConnection(self), self.host, self.port),
                self.connect_timeout,
            )
        except socket.gaierror as exc:
            self.last_error = str(exc)
            raise UpstreamError(503, NAME_RESOLUTION) from exc
        except TimeoutError as exc:
            self.last_error = "connect timeout"
            raise UpstreamError(504, TIMEOUT) from exc
        except OSError as exc:
            self.last_error = str(exc)
            raise UpstreamError(502, BAD_GATEWAY) from exc
        self.last_error = None
        return cast(UpstreamConnection, proto)

    def _take_idle(self) -> UpstreamConnection | None:
        idle = self.idle
        now = self.loop.time()
        while idle:
            conn = idle.pop()
            if conn.transport is None or not conn.reusable:
                continue
            if now - conn.idle_since > self.idle_timeout:
                conn.close()
                continue
            return conn
        return None

    def release(self, conn: UpstreamConnection) -> None:
        if conn.reusable and conn.transport is not None and len(self.idle) < self.max_idle:
            conn.idle_since = self.loop.time()
            self.idle.append(conn)
        else:
            conn.close()

    def sweep(self, now: float) -> None:
        """Fail requests past their read timeout (called about once a second)."""
        for conn in [c for c in self.busy if c.deadline <= now]:
            conn.fail(UpstreamError(504, TIMEOUT))

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()
        for task in self._tasks:
            task.cancel()
