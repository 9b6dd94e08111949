"""Behaviour of the local gateway against a tiny upstream: each plugin as Kong 3.x does it."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from gwkit import (
    EchoUpstream,
    Key,
    RunningGateway,
    claims,
    committed_config,
    raw_exchange,
    start_gateway,
    token,
)

Bearer = Callable[..., dict[str, str]]


def _msg(response: httpx.Response) -> Any:
    return response.json()


# --- routing ---


async def test_proxies_with_kong_upstream_headers(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        r = await c.get("/api/v1/expenses/42?page=2", headers={**bearer(), "X-Forwarded-For": "10.0.0.9"})
    assert r.status_code == 200
    echo = r.json()
    assert echo["path"] == "/api/v1/expenses/42" and echo["query"] == "page=2"
    h = echo["headers"]
    assert h["host"] == "expense:3003"  # preserve_host false: the service's host, as Kong sends it
    assert h["x-forwarded-for"] == "10.0.0.9, 127.0.0.1" and h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http" and h["x-forwarded-path"] == "/api/v1/expenses/42"
    assert h["authorization"].startswith("Bearer ")
    assert r.headers["via"].startswith("1.1 kong/") and "x-kong-upstream-latency" in r.headers
    assert r.headers["vary"] == "Accept"  # upstream headers pass through


async def test_no_route_internal_and_health_are_404(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        for path in ["/nope", "/internal/users/1", "/health", "/api/v2/expenses"]:
            r = await c.get(path, headers=bearer())
            assert r.status_code == 404, path
            assert r.json() == {"message": "no Route matched with those values"}
    # dot segments are resolved before routing, so they cannot reach /internal
    for target in [b"/api/v1/expenses/../../internal/x", b"/api/v1/auth/%2e%2e/%2e%2e/%2e%2e/internal/x"]:
        raw = await raw_exchange(gw.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert raw.startswith(b"HTTP/1.1 404 "), raw[:80]


async def test_upstream_down_is_502(upstream: EchoUpstream, bearer: Bearer) -> None:
    sock = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    dead_port = sock.sockets[0].getsockname()[1]
    sock.close()
    await sock.wait_closed()
    running = await start_gateway(upstream, overrides={"savings": ("127.0.0.1", dead_port)})
    try:
        async with running.client() as c:
            r = await c.get("/api/v1/savings/goals", headers=bearer())
        assert r.status_code == 502
        assert r.json() == {"message": "An invalid response was received from the upstream server"}
        assert "x-correlation-id" in r.headers
    finally:
        await running.close()


async def test_keep_alive_and_pipelining_answer_in_order(gw: RunningGateway, bearer: Bearer) -> None:
    auth = bearer()["Authorization"].encode()
    requests = (
        b"".join(
            b"GET /api/v1/income/%d HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % (i, auth) for i in range(3)
        )
        + b"GET /api/v1/income/last HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nConnection: close\r\n\r\n"
    )
    raw = await raw_exchange(gw.port, requests)
    paths = re.findall(rb'"path": "([^"]+)"', raw)
    assert paths == [b"/api/v1/income/0", b"/api/v1/income/1", b"/api/v1/income/2", b"/api/v1/income/last"]
    assert raw.count(b"HTTP/1.1 200 OK") == 4


async def test_chunked_upstream_response_is_reframed(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        r = await c.get("/api/v1/reports/chunked", headers=bearer())
    assert r.status_code == 200 and r.json()["path"] == "/api/v1/reports/chunked"
    assert int(r.headers["content-length"]) == len(r.content)


# --- jwt ---


async def test_valid_token_passes_with_consumer_headers(gw: RunningGateway, bearer: Bearer, key1: Key) -> None:
    async with gw.client() as c:
        r = await c.get("/api/v1/user/me", headers=bearer())
        assert r.status_code == 200
        h = r.json()["headers"]
        assert h["x-consumer-username"] == "pfms-users"
        assert h["x-consumer-id"] == gw.config.consumers[0].id
        assert h["x-credential-identifier"] == key1.kid
        # cached verification still re-checks nothing else: a second call is identical
        assert (await c.get("/api/v1/user/me", headers=bearer())).status_code == 200


async def test_public_auth_routes_need_no_token(gw: RunningGateway) -> None:
    async with gw.client() as c:
        for path in [
            "/api/v1/auth/login",
            "/api/v1/auth/register",
            "/api/v1/auth/mfa/verify",
            "/.well-known/jwks.json",
        ]:
            r = await c.post(path, json={}) if path != "/.well-known/jwks.json" else await c.get(path)
            assert r.status_code == 200, path
        for path in ["/api/v1/auth/logout", "/api/v1/auth/mfa/setup", "/api/v1/auth/login/x", "/api/v1/auth/sessions"]:
            r = await c.post(path, json={})
            assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}, path


async def test_jwt_rejections_use_kongs_messages(gw: RunningGateway, key1: Key, key2: Key) -> None:
    now = int(time.time())
    public_pem = key1.public_pem
    cases: list[tuple[dict[str, str], Any]] = [
        ({}, {"message": "Unauthorized"}),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, {"message": "Unauthorized"}),
        ({"Authorization": "Bearer " + token(key1, alg="none")}, {"message": "Bad token; invalid alg"}),
        (
            {"Authorization": "Bearer " + token(None, claims(), alg="HS256", kid=key1.kid, hmac_secret=public_pem)},
            {"message": "Invalid algorithm"},
        ),
        ({"Authorization": "Bearer " + token(key1, claims(exp=now - 1))}, {"exp": "token expired"}),
        ({"Authorization": "Bearer " + token(key1, claims(nbf=now + 120))}, {"nbf": "token not valid yet"}),
        ({"Authorization": "Bearer " + token(key1, claims(nbf=None))}, {"nbf": "must be a number"}),
        (
            {"Authorization": "Bearer " + token(key1, kid=key1.kid, signature=b"x" * 256)},
            {"message": "Invalid signature"},
        ),
        ({"Authorization": "Bearer " + token(key2, kid=key1.kid)}, {"message": "Invalid signature"}),
        ({"Authorization": "Bearer " + token(key2)}, {"message": "No credentials found for given 'kid'"}),
        (
            {"Authorization": "Bearer " + token(None, claims(), kid=None, signature=b"sig")},
            {"message": "No mandatory 'kid' in claims"},
        ),
        ({"Authorization": "Bearer not-a-jwt"}, {"message": "Bad token; invalid JSON"}),
    ]
    async with gw.client() as c:
        for headers, body in cases:
            r = await c.get("/api/v1/loans", headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.json() == body, headers
            assert "ratelimit-limit" not in r.headers  # jwt runs before rate-limiting


async def test_forged_claims_with_a_valid_signature_elsewhere_fail(gw: RunningGateway, key1: Key) -> None:
    good = token(key1, claims(sub="alice"))
    head, _, sig = good.split(".")
    forged_payload = token(key1, claims(sub="mallory")).split(".")[1]
    async with gw.client() as c:
        r = await c.get("/api/v1/tax", headers={"Authorization": f"Bearer {head}.{forged_payload}.{sig}"})
    assert r.status_code == 401 and r.json() == {"message": "Invalid signature"}


async def test_key_rotation_new_kid_works_once_jwks_has_it(key1: Key, key2: Key) -> None:
    up = EchoUpstream()
    up.jwks = {"keys": [key1.jwk]}
    await up.start()
    running = await start_gateway(up, refresh_interval=0.0)
    try:
        async with running.client() as c:
            new = {"Authorization": "Bearer " + token(key2)}
            old = {"Authorization": "Bearer " + token(key1)}
            r = await c.get("/api/v1/groups", headers=new)
            assert r.status_code == 401 and r.json() == {"message": "No credentials found for given 'kid'"}
            up.jwks = {"keys": [key2.jwk, key1.jwk]}  # auth rotated: current + previous
            assert (await c.get("/api/v1/groups", headers=new)).status_code == 200
            assert (await c.get("/api/v1/groups", headers=old)).status_code == 200
            r = await c.get("/api/v1/groups", headers=new)
            assert r.json()["headers"]["x-credential-identifier"] == key2.kid
            up.jwks = {"keys": [key2.jwk]}  # previous key retired: picked up at the next unknown-kid refetch
            await c.get("/api/v1/groups", headers={"Authorization": "Bearer " + token(key1, kid="unknown-kid")})
            r = await c.get("/api/v1/groups", headers=old)
            assert r.status_code == 401 and r.json() == {"message": "No credentials found for given 'kid'"}
    finally:
        await running.close()
        await up.close()


async def test_unknown_kid_refetch_is_throttled(key1: Key, key2: Key) -> None:
    up = EchoUpstream()
    up.jwks = {"keys": [key1.jwk]}
    await up.start()
    running = await start_gateway(up, refresh_interval=10.0)
    try:
        hits = up.jwks_hits
        async with running.client() as c:
            for _ in range(5):
                r = await c.get("/api/v1/groups", headers={"Authorization": "Bearer " + token(key2)})
                assert r.status_code == 401
        assert up.jwks_hits == hits  # fetched at start, then not again within 10 s
    finally:
        await running.close()
        await up.close()


# --- rate limiting ---


def _low_limits() -> dict[str, Any]:
    data = committed_config()
    for plugin in data["plugins"]:
        if plugin["name"] == "rate-limiting":
            plugin["config"]["minute"] = 3
    for service in data["services"]:
        for holder in [service, *service.get("routes", [])]:
            for plugin in holder.get("plugins") or []:
                if plugin["name"] == "rate-limiting":
                    plugin["config"]["minute"] = 2
    return data


async def _not_near_minute_end() -> None:
    if time.time() % 60 > 55:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)


async def test_rate_limit_per_ip_on_public_routes(upstream: EchoUpstream, key1: Key) -> None:
    running = await start_gateway(upstream, _low_limits())
    try:
        await _not_near_minute_end()
        async with running.client() as c:
            seen = []
            for _ in range(3):
                r = await c.post("/api/v1/auth/login", json={})
                assert r.status_code == 200
                assert r.headers["x-ratelimit-limit-minute"] == "3" and r.headers["ratelimit-limit"] == "3"
                seen.append(r.headers["x-ratelimit-remaining-minute"])
                assert 1 <= int(r.headers["ratelimit-reset"]) <= 60
            assert seen == ["2", "1", "0"]
            r = await c.post("/api/v1/auth/refresh", json={})  # same limiter (global), same IP
            assert r.status_code == 429 and r.json() == {"message": "API rate limit exceeded"}
            assert r.headers["ratelimit-remaining"] == "0" and r.headers["x-ratelimit-remaining-minute"] == "0"
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert "x-correlation-id" in r.headers and r.headers["access-control-allow-credentials"] == "true"
            # protected routes have their own per-token limiter; the IP limit does not apply there
            auth = {"Authorization": "Bearer " + token(key1)}
            r = await c.get("/api/v1/budgets", headers=auth)
            assert r.status_code == 200 and r.headers["x-ratelimit-limit-minute"] == "2"
    finally:
        await running.close()


async def test_rate_limit_per_token_on_protected_routes(upstream: EchoUpstream, key1: Key) -> None:
    running = await start_gateway(upstream, _low_limits())
    try:
        await _not_near_minute_end()
        a = {"Authorization": "Bearer " + token(key1, claims(sub="a"))}
        b = {"Authorization": "Bearer " + token(key1, claims(sub="b"))}
        async with running.client() as c:
            assert [(await c.get("/api/v1/portfolios", headers=a)).status_code for _ in range(2)] == [200, 200]
            r = await c.get("/api/v1/watchlists", headers=a)  # same service, same limiter
            assert r.status_code == 429 and "retry-after" in r.headers
            assert (await c.get("/api/v1/portfolios", headers=b)).status_code == 200  # another token
            assert (await c.get("/api/v1/loans", headers=a)).status_code == 200  # another service's limiter
            # refused requests are not counted, and a bad token never reaches the limiter
            r = await c.get("/api/v1/portfolios", headers={"Authorization": "Bearer junk"})
            assert r.status_code == 401
    finally:
        await running.close()


# --- cors ---


async def test_cors_preflight_is_answered_by_the_gateway(gw: RunningGateway, upstream: EchoUpstream) -> None:
    before = len(upstream.requests)
    async with gw.client() as c:
        r = await c.options(
            "/api/v1/expenses",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
    assert r.status_code == 200 and r.content == b""
    assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "3600"
    assert "Authorization" in r.headers["access-control-allow-headers"]
    assert "Idempotency-Key" in r.headers["access-control-allow-headers"]
    assert "PATCH" in r.headers["access-control-allow-methods"]
    assert r.headers["vary"] == "Origin"
    assert len(upstream.requests) == before  # never proxied, and no token needed


async def test_cors_headers_on_responses_and_errors(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        ok = await c.get("/api/v1/habits", headers={**bearer(), "Origin": "http://localhost:5173"})
        denied = await c.get("/api/v1/habits", headers={"Origin": "http://localhost:5173"})
        foreign = await c.get("/api/v1/habits", headers={**bearer(), "Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "X-Correlation-ID" in ok.headers["access-control-expose-headers"]
    assert "RateLimit-Remaining" in ok.headers["access-control-expose-headers"]
    assert ok.headers["vary"] == "Origin"  # set_header replaces the upstream's Vary, as in Kong
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "access-control-allow-origin" not in foreign.headers


# --- correlation id ---


async def test_correlation_id_generated_and_echoed(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        r = await c.get("/api/v1/categories", headers=bearer())
        generated = r.headers["x-correlation-id"]
        assert uuid.UUID(generated).version == 4
        assert r.json()["headers"]["x-correlation-id"] == generated
        r = await c.get("/api/v1/categories", headers={**bearer(), "X-Correlation-ID": "given-123"})
        assert r.headers["x-correlation-id"] == "given-123"
        assert r.json()["headers"]["x-correlation-id"] == "given-123"
        r = await c.get("/api/v1/categories")  # Kong's own 401 carries it too
        assert r.status_code == 401 and uuid.UUID(r.headers["x-correlation-id"])


# --- request size ---


async def test_oversized_body_is_refused_from_content_length(
    gw: RunningGateway, bearer: Bearer, upstream: EchoUpstream
) -> None:
    auth = bearer()["Authorization"].encode()
    before = len(upstream.requests)
    head = (
        b"POST /api/v1/expenses HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
    )
    raw = await raw_exchange(gw.port, head, timeout=3)  # no body sent: answered from the header alone
    assert raw.startswith(b"HTTP/1.1 413 ")
    assert raw.endswith(b'{"message":"Request size limit exceeded"}')
    raw = await raw_exchange(gw.port, head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"), timeout=3)
    assert raw.startswith(b"HTTP/1.1 417 ")
    # without a token jwt answers first, as in Kong (jwt 1450 runs before request-size-limiting 951)
    raw = await raw_exchange(gw.port, head.replace(b"Authorization: " + auth + b"\r\n", b""), timeout=3)
    assert raw.startswith(b"HTTP/1.1 401 ")
    assert len(upstream.requests) == before


async def test_chunked_body_over_the_limit_is_413(gw: RunningGateway, bearer: Bearer) -> None:
    auth = bearer()["Authorization"].encode()
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    raw = await raw_exchange(
        gw.port,
        b"POST /api/v1/budgets HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body,
        timeout=3,
    )
    assert raw.startswith(b"HTTP/1.1 413 ")


async def test_bulk_import_route_takes_large_bodies(gw: RunningGateway, bearer: Bearer) -> None:
    payload = b"a,b\n" * (3 * 1024 * 1024 // 4)
    async with gw.client() as c:
        r = await c.post("/api/v1/expenses/bulk-import", content=payload, headers=bearer())
        assert r.status_code == 200 and r.json()["body_len"] == len(payload)
        small = await c.post("/api/v1/expenses", content=b"{}", headers=bearer())
        assert small.status_code == 200 and small.json()["body_len"] == 2
        big = await c.post("/api/v1/expenses", content=payload, headers=bearer())
        assert big.status_code == 413


# --- prometheus ---


async def test_prometheus_counts_requests_on_the_status_port(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        for _ in range(3):
            assert (await c.get("/api/v1/notifications", headers=bearer())).status_code == 200
        assert (await c.get("/api/v1/notifications")).status_code == 401
        assert (await c.get("/metrics")).status_code == 404  # not on the proxy port
    text = await gw.metrics()
    ok = re.search(
        r'kong_http_requests_total\{service="notification",route="notification",code="200",'
        r'source="service",consumer=""\} (\d+)',
        text,
    )
    denied = re.search(
        r'kong_http_requests_total\{service="notification",route="notification",code="401",'
        r'source="kong",consumer=""\} (\d+)',
        text,
    )
    assert ok and int(ok[1]) >= 3
    assert denied and int(denied[1]) >= 1
    assert 'kong_request_latency_ms_bucket{service="notification",route="notification",le="00025.0"}' in text
    assert 'kong_upstream_latency_ms_count{service="notification",route="notification"}' in text
    assert 'kong_kong_latency_ms_bucket{service="notification",route="notification",le="+Inf"}' in text
    assert 'kong_bandwidth_bytes{service="notification",route="notification",direction="egress",consumer=""}' in text
    assert "kong_nginx_requests_total" in text
    status = json.loads((await httpx.AsyncClient().get(f"http://127.0.0.1:{gw.status_port}/status")).text)
    assert status["server"]["total_requests"] >= 4


# --- the real command line (uvloop, argument parsing, status listener) ---


async def test_cli_serves_through_uvloop(upstream: EchoUpstream, key1: Key) -> None:
    import socket
    import subprocess
    import sys

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    port, status_port = free_port(), free_port()
    env_upstreams = ",".join(f"{name}=127.0.0.1:{upstream.port}" for name in ("auth", "expense"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pfms_gateway",
            "--port",
            str(port),
            "--status-port",
            str(status_port),
            "--jwks-url",
            f"http://127.0.0.1:{upstream.port}/.well-known/jwks.json",
        ],
        env={**__import__("os").environ, "PFMS_GATEWAY_UPSTREAMS": env_upstreams},
        stderr=subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(timeout=5) as c:
            for _ in range(300):  # up to 30 s: a loaded CI machine starts Python slowly
                try:
                    r = await c.get(
                        f"http://127.0.0.1:{port}/api/v1/expenses/7", headers={"Authorization": "Bearer " + token(key1)}
                    )
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            assert r.status_code == 200 and r.json()["path"] == "/api/v1/expenses/7"
            assert r.headers["x-ratelimit-limit-minute"] and r.headers["x-correlation-id"]
            metrics = await c.get(f"http://127.0.0.1:{status_port}/metrics")
            assert 'kong_http_requests_total{service="expense",route="expense",code="200"' in metrics.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- HTTP details ---


async def test_http_edge_cases(gw: RunningGateway, bearer: Bearer) -> None:
    async with gw.client() as c:
        head = await c.head("/api/v1/income/1", headers=bearer())
        assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0
        empty = await c.delete("/api/v1/income/nocontent", headers=bearer())
        assert empty.status_code == 204 and empty.headers["x-echo"] == "yes" and "content-length" not in empty.headers
        closing = await c.get("/api/v1/income/close", headers=bearer())  # body delimited by the upstream's close
        assert closing.status_code == 200 and closing.json()["path"] == "/api/v1/income/close"
        again = await c.get("/api/v1/income/after-close", headers=bearer())  # the pool copes with the closed one
        assert again.status_code == 200
    auth = bearer()["Authorization"].encode()
    raw = await raw_exchange(gw.port, b"GET /api/v1/income/x HTTP/1.0\r\nAuthorization: " + auth + b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in raw
    raw = await raw_exchange(gw.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")


async def test_expect_100_continue_gets_interim_response(gw: RunningGateway, bearer: Bearer) -> None:
    auth = bearer()["Authorization"].encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.port)
    writer.write(
        b"POST /api/v1/expenses HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(b"hello")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(re.search(rb"(?i)content-length: (\d+)", head)[1])  # type: ignore[index]
    body = json.loads(await reader.readexactly(length))
    assert body["body_len"] == 5
    writer.close()


async def test_upstream_read_timeout_is_504(upstream: EchoUpstream, bearer: Bearer) -> None:
    data = committed_config()
    for service in data["services"]:
        if service["name"] == "tax":
            service["read_timeout"] = 1000
    running = await start_gateway(upstream, data)
    try:
        async with running.client() as c:
            r = await c.get("/api/v1/tax/slow", headers=bearer())
        assert r.status_code == 504 and r.json() == {"message": "The upstream server is timing out"}
    finally:
        await running.close()


async def test_two_windows_use_kongs_header_rules(upstream: EchoUpstream) -> None:
    data = committed_config()
    for plugin in data["plugins"]:
        if plugin["name"] == "rate-limiting":
            plugin["config"].update(second=3, minute=4)
    running = await start_gateway(upstream, data)
    try:
        await _not_near_minute_end()
        async with running.client() as c:
            first = await c.post("/api/v1/auth/login", json={})
            h = first.headers
            assert (h["x-ratelimit-limit-second"], h["x-ratelimit-limit-minute"]) == ("3", "4")
            assert (h["x-ratelimit-remaining-second"], h["x-ratelimit-remaining-minute"]) == ("2", "3")
            # RateLimit-* describe the most constraining window: here the per-second one
            assert (h["ratelimit-limit"], h["ratelimit-remaining"], h["ratelimit-reset"]) == ("3", "2", "1")
            statuses = [(await c.post("/api/v1/auth/login", json={})).status_code for _ in range(4)]
            assert statuses[-1] == 429 and statuses.count(200) <= 3
    finally:
        await running.close()


async def test_idle_connections_are_closed(upstream: EchoUpstream) -> None:
    running = await start_gateway(upstream)
    running.gateway.idle_timeout = 0.5
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(b"GET /api/v1/auth/log")  # a request that never finishes (slowloris)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the gateway
        writer.close()
    finally:
        await running.close()


async def test_large_bodies_are_not_read_before_the_access_phase(gw: RunningGateway, upstream: EchoUpstream) -> None:
    before = len(upstream.requests)
    # 10 MB announced for the 50 MB route, no token: 401 straight away, the body is never awaited
    raw = await raw_exchange(
        gw.port,
        b"POST /api/v1/expenses/bulk-import HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\npartial",
        timeout=3,
    )
    assert raw.startswith(b"HTTP/1.1 401 ") and b"Connection: close" in raw
    raw = await raw_exchange(
        gw.port, b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n", timeout=3
    )
    assert raw.startswith(b"HTTP/1.1 404 ")
    assert len(upstream.requests) == before


async def test_websocket_upgrade_is_answered_as_plain_http_then_closed(gw: RunningGateway, bearer: Bearer) -> None:
    auth = bearer()["Authorization"].encode()
    raw = await raw_exchange(
        gw.port,
        b"GET /api/v1/notifications/ws HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + auth
        + b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        timeout=3,
    )
    assert raw.startswith(b"HTTP/1.1 200 ")
    assert b'"upgrade"' not in raw.lower().split(b"\r\n\r\n", 1)[1]  # the upstream never saw the Upgrade header


async def test_a_failing_plugin_gives_500_or_keeps_the_sent_response(upstream: EchoUpstream, bearer: Bearer) -> None:
    running = await start_gateway(upstream)
    try:
        route = running.gateway.routes["loan"]

        def boom(*args: Any) -> None:
            raise RuntimeError("bug")

        route.access = (boom,)
        async with running.client() as c:
            r = await c.get("/api/v1/loans", headers=bearer())
            assert r.status_code == 500 and r.json() == {"message": "An unexpected error occurred"}
        route = running.gateway.routes["tax"]
        route.log = (boom,)
        async with running.client() as c:
            r = await c.get("/api/v1/tax", headers=bearer())
            assert r.status_code == 200  # already sent when the log phase failed
    finally:
        await running.close()
