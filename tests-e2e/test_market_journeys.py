"""Issue 5, market-data side: quotes through the gateway from the offline ECB and shipped data, and the
loop investment → market-data → investment: holding a symbol makes the refresh scheduler publish
`price.updated`, which an SSE client subscribed to the symbol receives through the gateway (its
`market-data-stream` route has `response_buffering: false`)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from journeys import BusTap, sign_up

from pfms_contracts.market import PriceUpdated
from pfms_local.fleet import Fleet
from pfms_platform.testing.helpers import publish_event

pytestmark = pytest.mark.e2e

M = "/api/v1/market"


async def test_quotes_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    ann = await sign_up(gateway, wait_profile=False)
    fx = await gateway.get(f"{M}/forex/EUR-USD", headers=ann.headers)
    assert fx.status_code == 200, fx.text
    body = fx.json()["data"]
    assert body["source"] == "offline:ecb-reference-rates" and isinstance(body["price"], str)
    stock = (await gateway.get(f"{M}/stocks/AAPL", headers=ann.headers)).json()["data"]
    assert stock["source"] == "offline:historical-closes" and stock["currency"] == "USD"
    history = await gateway.get(f"{M}/forex/EUR-USD/history?from=2024-03-25&to=2024-03-29", headers=ann.headers)
    assert history.json()["data"]["closes"][-1] == {"date": "2024-03-28", "close": "1.0811", "currency": "USD"}
    missing = await gateway.get(f"{M}/stocks/ZZZZ", headers=ann.headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert (await gateway.get(f"{M}/stocks/AAPL")).status_code == 401
    internal = await gateway.get("/internal/v1/market/quotes/AAPL?asset_class=stock", headers=ann.headers)
    assert internal.status_code in (401, 403, 404), "internal routes are never routed by the gateway"


async def first_event(response: httpx.Response) -> dict[str, Any]:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            return dict(json.loads(line.removeprefix("data: ")))
    raise AssertionError("stream ended without an event")


async def test_holding_a_symbol_streams_its_price_updates(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    ann = await sign_up(gateway, wait_profile=False)
    tap = await BusTap.open(fleet, "analytics.events", "price.updated")
    url = f"{fleet.gateway_url}{M}/stream?symbols=GOOG"
    try:
        async with (
            httpx.AsyncClient(timeout=60) as client,
            client.stream("GET", url, headers=ann.headers) as stream,
        ):
            assert stream.status_code == 200
            portfolio = await gateway.post(
                "/api/v1/portfolios", json={"name": "Tech", "base_currency": "USD"}, headers=ann.headers
            )
            assert portfolio.status_code == 201, portfolio.text
            pid = portfolio.json()["data"]["id"]
            asset = await gateway.post(
                f"/api/v1/portfolios/{pid}/assets", json={"asset_type": "stock", "symbol": "GOOG"}, headers=ann.headers
            )
            assert asset.status_code == 201, asset.text
            pushed = await asyncio.wait_for(first_event(stream), 45)
        assert pushed["symbol"] == "GOOG" and pushed["source"] == "offline:historical-closes"
        on_bus = await tap.wait("price.updated", timeout=30, symbol="GOOG")
        assert on_bus["data"]["price"] == pushed["price"] and on_bus["data"]["user_id"] is None
    finally:
        await tap.close()


async def next_data(lines: AsyncIterator[str]) -> dict[str, Any]:
    """The next event's data from a stream's lines (comments and `event:` lines skipped)."""
    async for line in lines:
        if line.startswith("data: "):
            return dict(json.loads(line.removeprefix("data: ")))
    raise AssertionError("stream ended without an event")


async def test_price_updates_reach_a_subscriber_through_the_gateway(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    ann = await sign_up(gateway, wait_profile=False)
    refused = await gateway.get(f"{M}/stream?symbols=NVDA")
    assert refused.status_code == 401 and refused.json() == {"message": "Unauthorized"}  # Kong's jwt answer
    assert "x-correlation-id" in refused.headers
    update = PriceUpdated(
        symbol="NVDA",
        asset_class="stock",
        price=Decimal("131.2500"),
        currency="USD",
        as_of=datetime.now(UTC),
        source="e2e",
    )
    async with gateway.stream(
        "GET", f"{M}/stream?symbols=nvda,EUR-USD", headers=ann.headers, timeout=httpx.Timeout(15, read=30)
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["via"].startswith("1.1 kong/") and "x-correlation-id" in stream.headers
        lines = stream.aiter_lines()
        # the first line arrives while the response is still open: the gateway is not buffering it
        assert (await asyncio.wait_for(anext(lines), 10)) == ": subscribed to EUR-USD,NVDA"
        await publish_event(fleet.stack.rabbitmq.url(fleet.vhost), update, source="market-data")
        pushed = await asyncio.wait_for(next_data(lines), 10)
    assert pushed["symbol"] == "NVDA" and pushed["price"] == "131.2500" and pushed["source"] == "e2e"
