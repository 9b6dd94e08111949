"""The internal client against a real local HTTP server: token sent, envelope unwrapped, 404 kept,
transient failures retried, a dead target turned into one clear 503 and then short-circuited."""

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pfms_devservers import free_port
from pfms_platform.errors import NotFound
from pfms_platform.internal import InternalClient, UpstreamUnavailable
from pfms_platform.security import verify_service_token
from pfms_platform.settings import DEV_SERVICE_TOKEN_SECRET, ServiceSettings

calls: list[str] = []
flaky = {"left": 0}


async def quote(request: Request) -> JSONResponse:
    caller = verify_service_token(DEV_SERVICE_TOKEN_SECRET, request.headers["authorization"].split()[1])
    calls.append(caller)
    symbol = request.path_params["symbol"]
    if symbol == "NOPE":
        body = {"code": "NOT_FOUND", "message": "Unknown symbol NOPE", "details": []}
        return JSONResponse({"success": False, "error": body}, 404)
    if symbol == "DOWN":
        body = {"code": "UNAVAILABLE", "message": "No provider answered", "details": []}
        return JSONResponse({"success": False, "error": body}, 503)
    if symbol == "FLAKY" and flaky["left"] > 0:
        flaky["left"] -= 1
        return JSONResponse({"success": False}, 502)
    data = {"symbol": symbol, "asset_class": request.query_params["asset_class"], "price": "187.5000"}
    return JSONResponse({"success": True, "data": data})


async def fx(request: Request) -> JSONResponse:
    q = request.query_params
    return JSONResponse({"success": True, "data": {"base": q["base"], "quote": q["quote"], "date": q["date"]}})


async def jobs(request: Request) -> JSONResponse:
    calls.append(verify_service_token(DEV_SERVICE_TOKEN_SECRET, request.headers["authorization"].split()[1]))
    if flaky["left"] > 0:
        flaky["left"] -= 1
        return JSONResponse({"success": False}, 502)
    return JSONResponse({"success": True, "data": {"received": await request.json()}}, 202)


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[str]:
    routes = [
        Route("/internal/v1/market/quotes/{symbol}", quote),
        Route("/internal/v1/market/fx", fx),
        Route("/internal/v1/jobs", jobs, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    await task


def client(url: str, **kw) -> InternalClient:
    settings = ServiceSettings(service_name="investment", service_urls={"market-data": url})
    return InternalClient(settings, "market-data", **kw)


async def test_quote_is_signed_and_unwrapped(server) -> None:
    c = client(server)
    assert await c.quote("AAPL", "stock") == {"symbol": "AAPL", "asset_class": "stock", "price": "187.5000"}
    assert calls[-1] == "investment"
    assert await c.fx("EUR", "USD", date(2024, 3, 1)) == {"base": "EUR", "quote": "USD", "date": "2024-03-01"}
    await c.aclose()


async def test_not_found_stays_a_404_and_does_not_trip_the_breaker(server) -> None:
    c = client(server, failure_threshold=1)
    for _ in range(3):
        with pytest.raises(NotFound, match="Unknown symbol NOPE"):
            await c.quote("NOPE", "stock")
    assert c.breaker.state == "closed"
    await c.aclose()


async def test_the_targets_own_503_is_passed_on_without_retrying(server) -> None:
    c = client(server)
    before = len(calls)
    with pytest.raises(UpstreamUnavailable, match="No provider answered") as info:
        await c.quote("DOWN", "stock")
    assert (info.value.status_code, info.value.code) == (503, "UPSTREAM_UNAVAILABLE")
    assert len(calls) == before + 1
    await c.aclose()


async def test_transient_5xx_is_retried(server) -> None:
    flaky["left"] = 2
    c = client(server, attempts=3, base_delay=0.01)
    assert (await c.quote("FLAKY", "stock"))["price"] == "187.5000"
    assert flaky["left"] == 0
    await c.aclose()


async def test_a_dead_target_is_one_clear_503_then_the_breaker_opens() -> None:
    c = client(f"http://127.0.0.1:{free_port()}", attempts=2, base_delay=0.01, failure_threshold=2, timeout=0.5)
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable, match="market-data is unavailable"):
            await c.quote("AAPL", "stock")
    assert c.breaker.state == "open"
    with pytest.raises(UpstreamUnavailable, match="retry in"):
        await c.quote("AAPL", "stock")
    await c.aclose()


async def test_post_sends_json_signed_and_is_tried_once(server) -> None:
    api = client(server)
    calls.clear()
    assert await api.post("/internal/v1/jobs", {"year": 2024}) == {"received": {"year": 2024}}
    assert calls == ["investment"]
    flaky["left"] = 1
    with pytest.raises(UpstreamUnavailable):
        await api.post("/internal/v1/jobs", {"year": 2024})  # a POST that failed may have acted: not repeated
    assert len(calls) == 2
    flaky["left"] = 0
    await api.aclose()
