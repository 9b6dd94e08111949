"""Transactions, lots and analytics over HTTP, with the events they write and the prices they read."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from pfms_investment.models import CachedFxRate, InvestmentTransaction

pytestmark = pytest.mark.integration

P = "/api/v1/portfolios"


async def test_buys_sells_lots_and_the_events_the_tax_service_needs(env) -> None:
    ann, bob = env.person(), env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "AAPL")
    pid, aid = p["id"], a["id"]
    buy1 = (await env.trade(ann, pid, aid, "buy", "2024-01-02", quantity="10", price="100", fees="5"))["data"]
    await env.trade(ann, pid, aid, "buy", "2024-02-01", quantity="10", price="120", fees="5", tax="1")

    refused = await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="20.5", price="130", status=422)
    assert refused["error"]["details"][0]["field"] == "quantity"
    assert "only 20 held on 2024-03-01" in refused["error"]["message"]
    backdated = await env.trade(ann, pid, aid, "sell", "2024-01-15", quantity="11", price="130", status=422)
    assert "only 10 held on 2024-01-15" in backdated["error"]["message"]
    assert await env.count(InvestmentTransaction) == 2

    await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="15", price="130", fees="6", tax="4")
    await env.trade(ann, pid, aid, "split", "2024-04-01", quantity="2")
    # The worked example of test_lots: FIFO realized 332 on the sell, 6 units... here 10 left after the split.
    position = (await env.client.get(f"{P}/{pid}/assets/{aid}/position", headers=ann.headers)).json()["data"]
    assert (D(position["quantity"]), D(position["cost_basis"]), D(position["realized_pnl"])) == (D(10), D(603), D(332))
    assert position["disposals"][0]["lot_id"] == buy1["id"]

    gains = await env.outbox("investment.realized_gain")
    assert [(g["acquisition_date"], g["disposal_date"], D(g["proceeds"]), D(g["cost"])) for g in gains] == [
        ("2024-01-02", "2024-03-01", D("1293.3333"), D(1005)),
        ("2024-02-01", "2024-03-01", D("646.6667"), D(603)),
    ]
    assert gains[0]["symbol"] == "AAPL" and gains[0]["currency"] == "USD" and gains[0]["cost_method"] == "fifo"
    kinds = [e["transaction_type"] for e in await env.outbox("investment.transaction")]
    assert kinds == ["buy", "buy", "sell", "split"]

    # Removing the first buy would leave the sell uncovered.
    deleted = await env.client.delete(f"{P}/{pid}/transactions/{buy1['id']}", headers=ann.headers)
    assert deleted.status_code == 409, deleted.text
    assert (await env.client.delete(f"{P}/{pid}/transactions/{buy1['id']}", headers=bob.headers)).status_code == 404
    listed = (await env.client.get(f"{P}/{pid}/transactions?limit=2", headers=ann.headers)).json()
    assert listed["pagination"]["total"] == 4 and [t["transaction_type"] for t in listed["data"]] == ["split", "sell"]
    assert (await env.client.get(f"{P}/{pid}/transactions", headers=bob.headers)).status_code == 404
    await env.trade(bob, pid, aid, "buy", "2024-01-02", quantity="1", price="1", status=404)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"transaction_type": "buy", "quantity": "1.123456789", "price": "1"}, "quantity"),
        ({"transaction_type": "buy", "quantity": "1", "price": "1", "fees": "-1"}, "fees"),
        ({"transaction_type": "buy", "quantity": "1", "price": "abc"}, "price"),
        ({"transaction_type": "gift", "quantity": "1", "price": "1"}, "transaction_type"),
        ({"transaction_type": "buy", "quantity": "1", "price": "1", "broker": "x"}, "broker"),
        ({"transaction_type": "dividend"}, "body"),
        ({"transaction_type": "buy", "quantity": "1", "price": "1", "date": "2999-01-01"}, "date"),
        (
            {"transaction_type": "sell", "quantity": "1", "price": "1", "lots": [{"lot_id": "x", "quantity": "1"}]},
            "lots.0.lot_id",
        ),
    ],
)
async def test_bad_transaction_input_names_the_field(env, fields, field) -> None:
    ann = env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "AAPL")
    body = {"asset_id": a["id"], "date": "2024-01-02", **fields}
    response = await env.client.post(f"{P}/{p['id']}/transactions", json=body, headers=ann.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert await env.count(InvestmentTransaction) == 0


async def test_specific_lots_are_named_by_the_sell(env) -> None:
    ann = env.person()
    p = await env.portfolio(ann, cost_method="specific")
    a = await env.asset(ann, p["id"], "MSFT")
    pid, aid = p["id"], a["id"]
    first = (await env.trade(ann, pid, aid, "buy", "2024-01-02", quantity="10", price="100"))["data"]
    second = (await env.trade(ann, pid, aid, "buy", "2024-02-01", quantity="10", price="200"))["data"]
    unnamed = await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="5", price="300", status=422)
    assert unnamed["error"]["details"][0]["field"] == "lots"
    lots = [{"lot_id": second["id"], "quantity": "5"}]
    await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="5", price="300", lots=lots)
    gains = await env.outbox("investment.realized_gain")
    assert [(g["lot_id"], D(g["gain"])) for g in gains] == [(second["id"], D(500))]
    # Switching to FIFO re-reads history; back to specific is fine, its sells name their lots.
    patched = await env.client.patch(f"{P}/{pid}", json={"cost_method": "fifo"}, headers=ann.headers)
    assert patched.status_code == 200
    position = (await env.client.get(f"{P}/{pid}/assets/{aid}/position", headers=ann.headers)).json()["data"]
    assert position["disposals"][0]["lot_id"] == first["id"]


async def test_analytics_follow_price_events_and_fx_at_the_right_dates(env) -> None:
    ann, bob = env.person(), env.person()
    today = datetime.now(UTC).date()
    bought = today - timedelta(days=10)
    env.market.rates[("EUR", "USD")] = [(bought - timedelta(days=3), "1.10"), (today - timedelta(days=1), "1.20")]
    env.market.closes["SPY"] = [(today - timedelta(days=370), "400"), (bought, "400"), (today, "440")]
    p = await env.portfolio(ann, base_currency="USD", benchmark={"symbol": "SPY"})
    sap = await env.asset(ann, p["id"], "SAP", currency="EUR", sector="Technology")
    await env.trade(ann, p["id"], sap["id"], "buy", bought.isoformat(), quantity="10", price="100")
    # The trade date's rate was fetched and cached when the buy was recorded.
    assert await env.count(CachedFxRate, CachedFxRate.base == "EUR", CachedFxRate.day == bought) == 1

    await env.price("SAP", "110", currency="EUR")

    async def priced() -> bool:
        body = (await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)).json()["data"]
        return body["assets"][0]["price"] == "110.00000000"

    await env.until(priced)
    data = (await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)).json()["data"]
    # Cost 10 x 100 EUR at 1.10 = 1100 USD; value 10 x 110 EUR at today's 1.20 = 1320 USD.
    assert (data["current_value"], data["invested"], data["unrealized_pnl"]) == ("1320.00", "1100.00", "220.00")
    assert data["total_return_percent"] == "20.0000"
    assert data["allocation"]["sector"] == [{"key": "Technology", "value": "1320.00", "percent": "100.0000"}]
    one_month = next(r for r in data["returns"] if r["period"] == "1M")
    assert (one_month["twr"], one_month["benchmark"]) == ("0.200000", "0.100000")
    assert data["stale"] == []

    # market-data goes down: the cached rates and prices keep analytics answering.
    env.market.down = True
    again = await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)
    assert again.status_code == 200 and again.json()["data"]["current_value"] == "1320.00"
    # ...but a portfolio needing a rate nobody cached is a clear 503, never a made-up rate.
    gbp = await env.portfolio(ann, base_currency="GBP")
    asset = await env.asset(ann, gbp["id"], "AAPL")
    await env.trade(ann, gbp["id"], asset["id"], "buy", bought.isoformat(), quantity="1", price="100")
    down = await env.client.get(f"{P}/{gbp['id']}/analytics", headers=ann.headers)
    assert down.status_code == 503, down.text
    assert down.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert (await env.client.get(f"{P}/{p['id']}/analytics", headers=bob.headers)).status_code == 404


async def test_a_symbol_never_priced_falls_back_to_a_quote_and_custom_assets_use_their_manual_price(env) -> None:
    ann = env.person()
    env.market.quotes["NVDA"] = ("500", "USD")
    p = await env.portfolio(ann)
    nvda = await env.asset(ann, p["id"], "NVDA")
    house = await env.asset(ann, p["id"], "FLAT", asset_type="custom", manual_price="300000")
    day = (date.today() - timedelta(days=5)).isoformat()
    await env.trade(ann, p["id"], nvda["id"], "buy", day, quantity="2", price="400")
    await env.trade(ann, p["id"], house["id"], "buy", day, quantity="1", price="250000")
    data = (await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)).json()["data"]
    by_symbol = {a["symbol"]: a for a in data["assets"]}
    assert by_symbol["NVDA"]["value"] == "1000.00"  # 2 x 500 from the quote
    assert by_symbol["FLAT"]["value"] == "300000.00"
    assert data["unrealized_pnl"] == "50200.00"
    assert {a["key"]: a["value"] for a in data["allocation"]["asset_type"]} == {
        "custom": "300000.00",
        "stock": "1000.00",
    }
