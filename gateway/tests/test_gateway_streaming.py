"""Routes with `response_buffering: false` (the market-data SSE stream): chunks pass through as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from gwkit import EchoUpstream, RunningGateway, committed_config, raw_exchange, start_gateway

Bearer = Callable[..., dict[str, str]]
STREAM = "/api/v1/market/stream"


@pytest.fixture
def gate(upstream: EchoUpstream) -> asyncio.Event:
    """A fresh gate per test: the upstream's streams end once the test sets it."""
    upstream.stream_gate = asyncio.Event()
    return upstream.stream_gate


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if result if isinstance(result, bool) else await result:
                return
            await asyncio.sleep(0.02)


async def next_event(chunks: AsyncIterator[bytes], buffer: bytearray, timeout: float = 3.0) -> bytes:
    """The next `data: ...` event from the body as it arrives."""
    async with asyncio.timeout(timeout):
        while b"\n\n" not in buffer:
            buffer += await anext(chunks)
    event, _, rest = bytes(buffer).partition(b"\n\n")
    buffer[:] = rest
    return event


async def stream_requests(gw: RunningGateway) -> float:
    """kong_http_requests_total for the stream route's 200s."""
    pattern = r'kong_http_requests_total\{service="market-data",route="market-data-stream",code="200"[^}]*\} (\S+)'
    found = re.search(pattern, await gw.metrics())
    return float(found.group(1)) if found else 0.0


async def test_events_arrive_while_the_upstream_is_still_open(
    gw: RunningGateway, upstream: EchoUpstream, bearer: Bearer, gate: asyncio.Event
) -> None:
    headers = {**bearer(), "Origin": "http://localhost:5173", "X-Correlation-ID": "corr-stream-1"}
    async with gw.client() as c, c.stream("GET", STREAM + "?ticks=2&every=0.2", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream" and r.headers["cache-control"] == "no-cache"
        assert r.headers["transfer-encoding"] == "chunked" and "content-length" not in r.headers
        # header_filter plugins ran on the head: correlation-id, cors; Kong's own headers too
        assert r.headers["x-correlation-id"] == "corr-stream-1"
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert r.headers["via"].startswith("1.1 kong/") and "x-kong-upstream-latency" in r.headers
        assert "x-accel-buffering" not in r.headers  # nginx consumes X-Accel-* and never passes them on
        chunks, buffer = r.aiter_raw(), bytearray()
        for i in range(3):
            assert await next_event(chunks, buffer) == b"data: %d" % i
            assert upstream.streams_open == 1 and not gate.is_set()  # each one came before the response ended
        gate.set()
        assert await next_event(chunks, buffer) == b"data: 3"
        assert [c async for c in chunks] == [] and not buffer
    await until(lambda: upstream.streams_open == 0)
    metrics = await gw.metrics()
    assert re.search(r'kong_http_requests_total\{service="market-data",route="market-data-stream",code="200"', metrics)


async def test_client_disconnect_closes_the_upstream_connection(
    gw: RunningGateway, upstream: EchoUpstream, bearer: Bearer, gate: asyncio.Event
) -> None:
    pool = gw.gateway.pools["market-data"]
    before = upstream.stream_disconnects
    counted = await stream_requests(gw)
    async with gw.client() as c:
        async with c.stream("GET", STREAM, headers=bearer()) as r:
            assert await next_event(r.aiter_raw(), bytearray()) == b"data: 0"
            streaming = [conn for conn in pool.busy if conn.streaming]
            assert len(streaming) == 1
        # leaving the block closed the client's connection mid-stream
        await until(lambda: upstream.stream_disconnects == before + 1)
        assert streaming[0].transport is None and streaming[0] not in pool.idle and not pool.busy
        assert await stream_requests(gw) == counted + 1  # the log phase ran for the cut-off stream
        gate.set()
        # the next stream gets a fresh upstream connection and completes
        r2 = await c.get(STREAM, headers=bearer())
        assert r2.status_code == 200 and r2.text == "data: 0\n\ndata: 1\n\n"


async def test_a_stream_holds_the_connection_so_pipelined_answers_stay_in_order(
    gw: RunningGateway, upstream: EchoUpstream, bearer: Bearer, gate: asyncio.Event
) -> None:
    auth = bearer()["Authorization"].encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    try:
        writer.write(
            b"GET " + STREAM.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + b"\r\n\r\n"
            b"GET /api/v1/market/quotes/AAPL HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + b"\r\n"
            b"Connection: close\r\n\r\n"
        )
        await writer.drain()
        received = b""
        async with asyncio.timeout(3):
            while b"data: 0\n\n\r\n" not in received:
                received += await reader.read(65536)
        with contextlib.suppress(TimeoutError):
            received += await asyncio.wait_for(reader.read(65536), 0.3)
        assert received.count(b"HTTP/1.1 ") == 1  # the quote waits behind the open stream
        gate.set()
        async with asyncio.timeout(3):
            while not reader.at_eof():
                received += await reader.read(65536)
    finally:
        writer.close()
    stream_end = received.index(b"0\r\n\r\n")
    quote = received.index(b"HTTP/1.1 200 OK", 1)
    assert stream_end < quote and b'"path": "/api/v1/market/quotes/AAPL"' in received[quote:]


async def test_a_content_length_stream_and_an_http10_client(
    gw: RunningGateway, bearer: Bearer, gate: asyncio.Event
) -> None:
    async with gw.client() as c, c.stream("GET", STREAM + "?framing=length", headers=bearer()) as r:
        assert r.headers["content-length"] == str(len(b"data: 0\n\ndata: 1\n\n"))
        assert "transfer-encoding" not in r.headers
        assert await next_event(r.aiter_raw(), bytearray()) == b"data: 0"  # before the upstream finished
        gate.set()
    # HTTP/1.0 has no chunked encoding: the body runs until the gateway closes the connection
    auth = bearer()["Authorization"].encode()
    raw = await raw_exchange(gw.port, b"GET " + STREAM.encode() + b" HTTP/1.0\r\nAuthorization: " + auth + b"\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in head
    assert b"Transfer-Encoding" not in head and body == b"data: 0\n\ndata: 1\n\n"


async def test_refusals_and_buffered_routes_are_unchanged(
    gw: RunningGateway, upstream: EchoUpstream, bearer: Bearer, gate: asyncio.Event
) -> None:
    async with gw.client() as c:
        r = await c.get(STREAM)
        assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
        assert "x-correlation-id" in r.headers
        # the same upstream stream on a buffered route arrives only once it has ended, with a length
        pending = asyncio.create_task(c.get("/api/v1/reports/stream", headers=bearer()))
        await until(lambda: upstream.streams_open == 1)
        await asyncio.sleep(0.3)
        assert not pending.done()
        gate.set()
        buffered = await pending
        assert buffered.status_code == 200 and buffered.text == "data: 0\n\ndata: 1\n\n"
        assert buffered.headers["content-length"] == str(len(buffered.content))
        assert buffered.headers["x-accel-buffering"] == "no"  # the buffered path relays upstream headers as-is
        # and the other market-data routes stay buffered
        quote = await c.get("/api/v1/market/reports/chunked", headers=bearer())
        assert int(quote.headers["content-length"]) == len(quote.content)


async def test_read_timeout_is_between_chunks_not_for_the_whole_stream(
    upstream: EchoUpstream, bearer: Bearer, gate: asyncio.Event
) -> None:
    data = committed_config()
    next(s for s in data["services"] if s["name"] == "market-data")["read_timeout"] = 1500
    running = await start_gateway(upstream, data)
    try:
        async with running.client() as c, c.stream("GET", STREAM + "?ticks=8&every=0.3", headers=bearer()) as r:
            chunks, buffer = r.aiter_raw(), bytearray()
            for i in range(9):  # 2.4 s of events, each within the 1.5 s read timeout
                assert await next_event(chunks, buffer) == b"data: %d" % i
            # then the upstream idles past the read timeout: the gateway cuts the response
            with pytest.raises(httpx.RemoteProtocolError):
                await next_event(chunks, buffer, timeout=5)
        await until(lambda: upstream.streams_open == 0)
    finally:
        gate.set()
        await running.close()


async def test_a_client_that_takes_nothing_is_dropped_and_its_upstream_closed(
    upstream: EchoUpstream, bearer: Bearer, gate: asyncio.Event
) -> None:
    running = await start_gateway(upstream)
    running.gateway.idle_timeout = 1.0  # nginx's send_timeout, 60 s in production
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", running.port))
        auth = bearer()["Authorization"].encode()
        sock.send(
            b"GET "
            + STREAM.encode()
            + b"?ticks=200&every=0.001&pad=100000 HTTP/1.1\r\nAuthorization: "
            + auth
            + b"\r\n\r\n"
        )
        # never read: the gateway's writes back up, it stops reading the upstream, then gives up on the client
        await until(lambda: upstream.streams_open == 1)
        await until(lambda: upstream.streams_open == 0, timeout=10)  # cut off while the gate is still shut
        assert not running.gateway.pools["market-data"].busy
    finally:
        sock.close()
        gate.set()
        await running.close()
