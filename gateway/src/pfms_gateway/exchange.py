"""One request/response pair as plugins see it (the local stand-in for Kong's ngx.ctx and PDK).

Everything on the hot path is bytes: header names are lower-cased bytes, values stay as sent, so no
plugin pays for decoding it does not need.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pfms_gateway.config import Consumer, JwtSecret
    from pfms_gateway.runtime import RouteRuntime

JSON_TYPE = b"application/json; charset=utf-8"


class Response:
    """A complete response: from the upstream (source "service") or made by a plugin (source "kong").

    An upstream response read whole on the fast path also keeps its raw status line and header
    lines (`raw`, and `low` lower-cased, for lookups), so it can be relayed without re-joining
    every header.
    """

    __slots__ = ("body", "headers", "low", "raw", "source", "status", "status_line")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, source: str) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.source = source
        self.raw: bytes | None = None
        self.low = b""
        self.status_line = b""


class Defer:
    """Returned by a plugin's access() that must wait (JWKS refetch, request body); it is then re-run once."""

    __slots__ = ("waiter",)

    def __init__(self, waiter: Awaitable[Any]) -> None:
        self.waiter = waiter


def kong_exit(status: int, body: Any = None, headers: dict[bytes, bytes] | None = None) -> Response:
    """kong.response.exit / kong.response.error: a JSON body (cjson-style, no spaces) or none."""
    hdrs: list[tuple[bytes, bytes]] = []
    data = b""
    if body is not None:
        data = json.dumps(body, separators=(",", ":")).encode()
        hdrs.append((b"Content-Type", JSON_TYPE))
    if headers:
        hdrs.extend(headers.items())
    return Response(status, hdrs, data, "kong")


def message(status: int, text: str) -> Response:
    return kong_exit(status, {"message": text})


def header_line(name: bytes, value: bytes) -> bytes:
    return name + b": " + value + b"\r\n"


class Exchange:
    """Request state shared by the plugins of one request, in Kong's phase order.

    Header edits are kept as ready-to-send lines keyed by lower-cased name (None clears the
    header): plugins mostly set the same few headers, so their lines are built once, at load.
    Defaults live on the class, so making an Exchange per request sets only what differs.
    """

    # request
    method = b"GET"
    path = "/"
    query = b""
    client_ip = b""
    http_minor = 1
    keep_alive = True
    expect_continue = False
    route: RouteRuntime | None = None
    # body
    body_parts: list[bytes] | tuple[()] = ()
    body_size = 0
    body_complete = False
    oversize = False
    queued = False
    waiter: Any = None
    # plugin state
    consumer: Consumer | None = None
    credential: JwtSecret | None = None
    correlation_id: bytes | None = None
    skip_cors_headers = False
    retried = False  # set while an access step is re-run after a Defer: it must not defer again
    responded = False  # a response (or its first bytes) has been handed to the transport
    # timing (loop.time()) and sizes for the log phase
    start = 0.0
    sent = 0.0
    upstream_latency: float | None = None
    request_size = 0
    conn: Any = None

    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}  # lower-cased name -> first value
        self.fwd: list[bytes] = []  # the client's header lines Kong passes upstream, as received
        self.fwd_names: list[bytes] = []  # their lower-cased names
        self.up_set: dict[bytes, bytes | None] = {}  # upstream request header edits
        self.resp_set: dict[bytes, bytes | None] = {}  # downstream response header edits

    def set_response_header(self, name: bytes, value: bytes | None) -> None:
        self.resp_set[name.lower()] = None if value is None else header_line(name, value)

    def set_upstream_header(self, name: bytes, value: bytes | None) -> None:
        self.up_set[name.lower()] = None if value is None else header_line(name, value)

    @property
    def body(self) -> bytes:
        return b"".join(self.body_parts)
