"""Issue 5, investment side, through the gateway: a buy, a price move arriving as `price.updated` on the
bus, analytics that follow it, an alert that fires once, and another user's portfolio that is a 404."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aio_pika
import httpx
import pytest
from journeys import BusTap, settle, sign_up

from pfms_contracts import CloudEvent
from pfms_contracts.market import PriceUpdated
from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

P = "/api/v1/portfolios"


async def publish_price(fleet: Fleet, symbol: str, price: str) -> None:
    """What market-data's refresh scheduler publishes for a symbol someone holds or watches."""
    data = PriceUpdated(
        symbol=symbol, asset_class="stock", price=Decimal(price), currency="USD", as_of=datetime.now(UTC), source="e2e"
    )
    event = CloudEvent.wrap("market-data", data)
    connection = await aio_pika.connect(fleet.stack.rabbitmq.url(fleet.vhost))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(data.exchange)
        await exchange.publish(aio_pika.Message(event.model_dump_json().encode(), message_id=event.id), data.type)


async def test_buy_price_move_analytics_and_an_alert_that_fires_once(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    ann = await sign_up(gateway, wait_profile=False)
    bob = await sign_up(gateway, wait_profile=False)
    symbol = f"E2E{uuid.uuid4().hex[:4].upper()}"
    tap = await BusTap.open(fleet, "financial.events", "investment.transaction", "investment.symbols_changed")
    alerts = await BusTap.open(fleet, "notification.events", "investment.price_alert_triggered")
    try:
        portfolio = await gateway.post(P, json={"name": "Long term", "base_currency": "USD"}, headers=ann.headers)
        assert portfolio.status_code == 201, portfolio.text
        pid = portfolio.json()["data"]["id"]
        asset = await gateway.post(
            f"{P}/{pid}/assets", json={"asset_type": "stock", "symbol": symbol}, headers=ann.headers
        )
        assert asset.status_code == 201, asset.text
        await tap.wait("investment.symbols_changed", user_id=ann.user_id, action="watch")

        day = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
        buy = {
            "asset_id": asset.json()["data"]["id"],
            "transaction_type": "buy",
            "date": day,
            "quantity": "10",
            "price": "100",
            "fees": "5",
        }
        bought = await gateway.post(f"{P}/{pid}/transactions", json=buy, headers=ann.headers)
        assert bought.status_code == 201, bought.text
        await tap.wait("investment.transaction", transaction_id=bought.json()["data"]["id"])
        oversell = {**buy, "transaction_type": "sell", "quantity": "11"}
        refused = await gateway.post(f"{P}/{pid}/transactions", json=oversell, headers=ann.headers)
        assert refused.status_code == 422 and "only 10 held" in refused.json()["error"]["message"]

        alert = await gateway.post(
            "/api/v1/watchlists/alerts",
            json={"symbol": symbol, "condition": "above", "threshold": "110"},
            headers=ann.headers,
        )
        assert alert.status_code == 201, alert.text

        await publish_price(fleet, symbol, "120")

        async def revalued() -> dict | None:
            response = await gateway.get(f"{P}/{pid}/analytics", headers=ann.headers)
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            return data if data["current_value"] == "1200.00" else None

        data = await wait_for(revalued, timeout=20, message="analytics at the new price")
        # Cost 10 x 100 + 5 fee = 1005; value 10 x 120 = 1200.
        assert (data["invested"], data["unrealized_pnl"], data["total_return"]) == ("1005.00", "195.00", "195.00")
        fired = await alerts.wait("investment.price_alert_triggered", alert_id=alert.json()["data"]["id"])
        assert fired["data"]["user_id"] == ann.user_id and fired["data"]["price"] == "120"

        await publish_price(fleet, symbol, "125")
        await wait_for(lambda: _priced(gateway, ann.headers, pid, "1250.00"), timeout=20, message="second price")
        await settle()
        assert len([e for e in await alerts.drain() if e["type"] == "investment.price_alert_triggered"]) == 1

        assert (await gateway.get(f"{P}/{pid}/analytics", headers=bob.headers)).status_code == 404
        assert (await gateway.get(f"{P}/{pid}", headers=bob.headers)).status_code == 404
    finally:
        await tap.close()
        await alerts.close()


async def _priced(gateway: httpx.AsyncClient, headers: dict[str, str], pid: str, value: str) -> bool | None:
    response = await gateway.get(f"{P}/{pid}/analytics", headers=headers)
    return True if response.json()["data"]["current_value"] == value else None
