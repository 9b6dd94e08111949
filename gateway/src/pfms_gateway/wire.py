"""HTTP/1.1 bytes in and out: the request Kong sends upstream and the response it sends back."""

from __future__ import annotations

import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, cast

from pfms_gateway.exchange import Exchange, Response
from pfms_gateway.plugins.prometheus import KONG_VERSION
from pfms_gateway.runtime import RouteRuntime

SERVER = f"kong/{KONG_VERSION}-local".encode()
VIA = b"1.1 " + SERVER

REQ_SKIP = frozenset(
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
# nginx reads these from the upstream and never passes them on (proxy_hide_header's defaults)
_STREAM_SKIP = _RESP_SKIP | {
    b"x-accel-buffering",
    b"x-accel-charset",
    b"x-accel-expires",
    b"x-accel-limit-rate",
    b"x-accel-redirect",
}
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})
_STATUS_LINES = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}
_HEADER_NAMES = re.compile(rb"\r\n([^:\r\n]*):")


def status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    return line if line is not None else f"HTTP/1.1 {status} Unknown\r\n".encode()


_date_cache: list[Any] = [0, b""]


def http_date(now: float) -> bytes:
    second = int(now)
    if second != _date_cache[0]:
        _date_cache[0] = second
        _date_cache[1] = formatdate(second, usegmt=True).encode()
    return cast(bytes, _date_cache[1])


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


def serialize_response(ex: Exchange, response: Response, now: float) -> bytes:
    """The response as Kong sends it downstream: the upstream's headers (minus hop-by-hop and any a
    plugin replaced), Kong's Via/latency headers, the plugins' headers, framing, body."""
    if ex.keep_alive and ex.body_complete and not ex.oversize:
        end = b"\r\n" if ex.http_minor else b"Connection: keep-alive\r\n\r\n"
    else:
        end = b"Connection: close\r\n\r\n"
    resp_set = ex.resp_set
    raw = response.raw
    if raw is not None:
        if resp_set.keys().isdisjoint(_HEADER_NAMES.findall(response.low)):
            # relay the upstream's header block untouched, then the gateway's own lines
            upstream = ex.upstream_latency or 0.0
            via = b"Via: %s\r\nX-Kong-Upstream-Latency: %d\r\nX-Kong-Proxy-Latency: %d\r\n" % (
                VIA,
                upstream,
                max(0.0, (now - ex.start) * 1000 - upstream),
            )
            return b"".join((response.status_line, raw, via, *filter(None, resp_set.values()), end, response.body))
        response.headers = _split_headers(raw)
    status = response.status
    parts = [status_line(status)]
    head_length: bytes | None = None
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
    parts += (end, body)
    return b"".join(parts)


def serialize_stream_head(ex: Exchange, response: Response, now: float, framing: bytes, keep_alive: bool) -> bytes:
    """The head of a streamed upstream response: as serialize_response, with the framing the gateway
    chose (`Content-Length` kept, `Transfer-Encoding: chunked`, or none when the close ends it)."""
    parts = [status_line(response.status)]
    resp_set = ex.resp_set
    for name, value in response.headers:
        lname = name.lower()
        if lname not in _STREAM_SKIP and lname not in resp_set:
            parts += (name, b": ", value, b"\r\n")
    upstream = ex.upstream_latency or 0.0
    parts.append(
        b"Via: %s\r\nX-Kong-Upstream-Latency: %d\r\nX-Kong-Proxy-Latency: %d\r\n"
        % (VIA, upstream, max(0.0, (now - ex.start) * 1000 - upstream))
    )
    parts += filter(None, resp_set.values())
    parts.append(framing)
    if not keep_alive:
        parts.append(b"Connection: close\r\n\r\n")
    else:
        parts.append(b"\r\n" if ex.http_minor else b"Connection: keep-alive\r\n\r\n")
    return b"".join(parts)


def _split_headers(raw: bytes) -> list[tuple[bytes, bytes]]:
    headers = []
    for line in raw.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name:
            headers.append((name, value.strip()))
    return headers
