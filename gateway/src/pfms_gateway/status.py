"""Kong's status listener (a separate port): GET /metrics (Prometheus text) and GET /status."""

from __future__ import annotations

import asyncio
from typing import cast

import httptools

from pfms_gateway.runtime import Gateway
from pfms_gateway.wire import SERVER, status_line


class StatusConnection(asyncio.Protocol):
    """One connection to the status port."""

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
        head = status_line(status) + b"Content-Type: " + ctype + b"\r\nContent-Length: %d\r\n" % len(body)
        head += b"Server: " + SERVER + b"\r\n" + (b"" if keep else b"Connection: close\r\n") + b"\r\n"
        if self.transport is not None:
            self.transport.write(head + body)
            if not keep:
                self.transport.close()
