"""Watchlist, price alerts firing once on real `price.updated` events, snapshots, and the user purge."""

import asyncio
from datetime import UTC, date, datetime

import pytest

from pfms_contracts.identity import UserDeleted
from pfms_investment import snapshots
from pfms_investment.models import Asset, InvestmentTransaction, Portfolio, PortfolioSnapshot, PriceAlert, WatchlistItem

pytestmark = pytest.mark.integration

W = "/api/v1/watchlists"


async def test_watchlist_tracks_symbols_and_answers_latest_prices(env) -> None:
    ann, bob = env.person(), env.person()
    item = await env.post(W, {"symbol": "btc", "asset_class": "crypto", "note": "maybe"}, ann)
    await env.post(W, {"symbol": "BTC", "asset_class": "crypto"}, ann, status=409)
    await env.post(W, {"symbol": "BTC", "asset_class": "bonds"}, ann, status=422)
    await env.price("BTC", "65000", asset_class="crypto")

    async def priced() -> bool:
        rows = (await env.client.get(W, headers=ann.headers)).json()["data"]
        return rows[0]["price"] == "65000.00000000"

    await env.until(priced)
    assert (await env.client.get(W, headers=bob.headers)).json()["data"] == []
    assert (await env.client.delete(f"{W}/{item['id']}", headers=bob.headers)).status_code == 404
    assert (await env.client.delete(f"{W}/{item['id']}", headers=ann.headers)).status_code == 204
    changes = await env.outbox("investment.symbols_changed")
    assert [(c["action"], c["symbols"], c["user_id"]) for c in changes] == [
        ("watch", [{"symbol": "BTC", "asset_class": "crypto"}], str(ann.user_id)),
        ("unwatch", [{"symbol": "BTC", "asset_class": "crypto"}], str(ann.user_id)),
    ]


async def test_alerts_fire_once_each_and_publish_a_notification(env) -> None:
    ann, bob = env.person(), env.person()
    env.market.quotes["TSLA"] = ("200", "USD")
    above = await env.post(f"{W}/alerts", {"symbol": "TSLA", "condition": "above", "threshold": "210"}, ann)
    below = await env.post(f"{W}/alerts", {"symbol": "TSLA", "condition": "below", "threshold": "150"}, ann)
    move = await env.post(f"{W}/alerts", {"symbol": "TSLA", "condition": "move_percent", "threshold": "10"}, bob)
    assert move["reference_price"] == "200.00000000"  # from the quote fallback
    assert above["status"] == "active" and above["reference_price"] is None

    for price in ("205", "221", "230", "225"):
        await env.price("TSLA", price)

    async def fired() -> bool:
        return len(await env.outbox("investment.price_alert_triggered")) >= 2

    await env.until(fired)
    await asyncio.sleep(0.5)  # the later prices must not fire anything again
    events = await env.outbox("investment.price_alert_triggered")
    assert sorted((e["alert_id"], e["price"]) for e in events) == sorted([(above["id"], "221"), (move["id"], "221")]), (
        "221 crosses 210 and is a 10.5 % move from 200; each alert fires once"
    )
    alerts = (await env.client.get(f"{W}/alerts", headers=ann.headers)).json()["data"]
    assert {a["id"]: a["status"] for a in alerts} == {above["id"]: "triggered", below["id"]: "active"}
    assert (await env.client.delete(f"{W}/alerts/{below['id']}", headers=bob.headers)).status_code == 404
    assert (await env.client.delete(f"{W}/alerts/{below['id']}", headers=ann.headers)).status_code == 204

    env.market.down = True
    refused = await env.client.post(
        f"{W}/alerts", json={"symbol": "NEW", "condition": "move_percent", "threshold": "5"}, headers=ann.headers
    )
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    bad = await env.client.post(
        f"{W}/alerts", json={"symbol": "X", "condition": "sideways", "threshold": "1"}, headers=ann.headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "condition"
    assert await env.count(PriceAlert) == 2


async def test_daily_snapshots_once_per_day_even_with_two_instances(env) -> None:
    ann = env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "AAPL")
    await env.trade(ann, p["id"], a["id"], "buy", "2024-01-02", quantity="3", price="100")
    today = datetime.now(UTC).date()
    written = await asyncio.gather(snapshots.take(env.svc.db, today), snapshots.take(env.svc.db, today))
    assert sum(written) == 1
    assert await snapshots.take(env.svc.db, today) == 0
    await snapshots.take(env.svc.db, date(2024, 6, 1))
    history = (await env.client.get(f"/api/v1/portfolios/{p['id']}/snapshots", headers=ann.headers)).json()
    assert [(s["snapshot_date"], s["total_value"]) for s in history["data"]] == [
        ("2024-06-01", "300.0000"),
        (today.isoformat(), "300.0000"),
    ]
    ranged = await env.client.get(f"/api/v1/portfolios/{p['id']}/snapshots?from=2024-07-01", headers=ann.headers)
    assert [s["snapshot_date"] for s in ranged.json()["data"]] == [today.isoformat()]
    bad = await env.client.get(
        f"/api/v1/portfolios/{p['id']}/snapshots?from=2024-07-01&to=2024-01-01", headers=ann.headers
    )
    assert bad.status_code == 422
    other = env.person()
    assert (await env.client.get(f"/api/v1/portfolios/{p['id']}/snapshots", headers=other.headers)).status_code == 404


async def test_user_deleted_purges_every_row_of_the_user(env) -> None:
    ann, bob = env.person(), env.person()
    for who in (ann, bob):
        p = await env.portfolio(who)
        a = await env.asset(who, p["id"], "AAPL")
        await env.trade(who, p["id"], a["id"], "buy", "2024-01-02", quantity="1", price="100")
        await env.post(W, {"symbol": "ETH", "asset_class": "crypto"}, who)
        await env.post(f"{W}/alerts", {"symbol": "AAPL", "condition": "above", "threshold": "500"}, who)
    await snapshots.take(env.svc.db, datetime.now(UTC).date())
    await env.publish(UserDeleted(user_id=ann.user_id, deleted_at=datetime.now(UTC)))

    async def purged() -> bool:
        return await env.count(Portfolio, Portfolio.user_id == ann.user_id) == 0

    await env.until(purged)
    for model in (Portfolio, Asset, InvestmentTransaction, WatchlistItem, PriceAlert, PortfolioSnapshot):
        assert await env.count(model, model.user_id == ann.user_id) == 0, model
        assert await env.count(model, model.user_id == bob.user_id) == 1, model
