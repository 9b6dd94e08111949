"""Issue 5, market-data side: quotes through the gateway from the offline ECB and shipped data, and the
loop investment → market-data → investment: holding a symbol makes the refresh scheduler publish
`price.updated`, which an SSE client subscribed to the symbol receives straight from the service."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from journeys import BusTap, sign_up

from pfms_local.fleet import Fleet

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
    url = f"{fleet.url('market-data')}{M}/stream?symbols=GOOG"
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
