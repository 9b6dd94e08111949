"""Streamed responses (routes with `response_buffering: false`), as the downstream side of the proxy.

The upstream connection hands over the response head once parsed, then each body piece as it
arrives. The head goes through header_filter and out at once; the body is re-framed as chunked
(kept as is when the upstream sent a Content-Length; for an HTTP/1.0 client the close ends it).
While it lasts the stream is the connection's current response, so pipelined requests wait their
turn; the log phase runs when it ends. Mixed into ClientConnection (server.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from pfms_gateway.exchange import Exchange, Response
from pfms_gateway.proxy import UpstreamConnection
from pfms_gateway.runtime import RouteRuntime
from pfms_gateway.wire import serialize_stream_head

if TYPE_CHECKING:
    from pfms_gateway.server import ClientConnection

log = logging.getLogger("pfms_gateway")


class StreamingResponses:
    """The StreamSink methods of a downstream connection."""

    def stream_head(
        self: ClientConnection,
        ex: Exchange,
        response: Response,
        first_byte: float,
        upstream: UpstreamConnection,
        framed: bool,
    ) -> None:
        """header_filter on the head, then send it now; `framed`: the upstream sent a length or chunks."""
        if self.transport is None:  # the client left while the request was upstream
            upstream.abort()
            return
        try:
            ex.upstream_latency = (first_byte - ex.sent) * 1000.0
            route = cast(RouteRuntime, ex.route)
            for header_filter in route.header_filter:
                header_filter(ex, response)
            status = response.status
            framing = b""
            self.chunked = False
            if status != 204 and status != 304:
                length = None
                if framed:
                    for name, value in response.headers:
                        lname = name.lower()
                        if lname == b"transfer-encoding":
                            length = None
                            break
                        if lname == b"content-length":
                            length = value
                if length is not None:
                    framing = b"Content-Length: " + length + b"\r\n"
                elif ex.http_minor:
                    framing = b"Transfer-Encoding: chunked\r\n"
                    self.chunked = True
                else:
                    ex.keep_alive = False  # an HTTP/1.0 client: the end of the body is the close
            keep = ex.keep_alive and ex.body_complete and not ex.oversize
            head = serialize_stream_head(ex, response, self.loop.time(), framing, keep)
        except Exception:
            upstream.abort()
            self._failed(ex)
            return
        ex.responded = True
        self.stream_ex = ex
        self.upstream = upstream
        self.stream_response = response
        self.stream_size = len(head)
        self.writer.write(self.transport, head)
        if self.write_paused:
            upstream.pause()

    def stream_chunk(self: ClientConnection, ex: Exchange, data: bytes) -> None:
        if self.transport is None:
            return
        if self.chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self.stream_size += len(data)
        self.writer.write(self.transport, data)

    def stream_end(self: ClientConnection, ex: Exchange) -> None:
        if self.chunked and self.transport is not None:
            self.writer.write(self.transport, b"0\r\n\r\n")
            self.stream_size += 5
        self._stream_done(ex, True)

    def stream_abort(self: ClientConnection, ex: Exchange) -> None:
        """The upstream failed after the head went out: close, so the client sees a cut-off response."""
        pool = cast(RouteRuntime, ex.route).pool
        log.warning("upstream %s:%s failed mid-response", pool.host, pool.port)
        self._stream_done(ex, False)

    def _stream_done(self: ClientConnection, ex: Exchange, complete: bool) -> None:
        """The log phase, then free the connection for the next request (or close it), as _complete does."""
        self.stream_ex = self.upstream = None
        response = cast(Response, self.stream_response)
        self.stream_response = None
        try:
            route = cast(RouteRuntime, ex.route)
            if route.log:
                end = self.loop.time()
                for log_phase in route.log:
                    log_phase(ex, response, self.stream_size, end)
        except Exception:
            self._failed(ex)
            return
        self.busy = False
        reusable = complete and ex.keep_alive and ex.body_complete and not ex.oversize
        if not reusable or (self.must_close and not self.queue):
            self._close()
        self._dispatch()
