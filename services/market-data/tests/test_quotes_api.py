"""Public and internal quote, history, FX and search routes on the offline provider (the `make run` default)."""

import asyncio
from decimal import Decimal

import pytest

from pfms_platform.security import mint_service_token

pytestmark = pytest.mark.integration


@pytest.fixture
async def svc(make_service):
    return await make_service("market-data")


def service_auth(svc) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token(svc.settings.service_token_secret, 'investment')}"}


async def test_stock_crypto_and_forex_quotes_say_where_they_come_from(svc, jwt_keys, user) -> None:
    auth = jwt_keys.auth(user)
    aapl = (await svc.client.get("/api/v1/market/stocks/aapl", headers=auth)).json()["data"]
    assert aapl["symbol"] == "AAPL" and aapl["price"] == "223.02" and aapl["currency"] == "USD"
    assert aapl["source"] == "offline:historical-closes" and aapl["age_seconds"] > 0 and aapl["stale"] is False
    btc = (await svc.client.get("/api/v1/market/crypto/BTC", headers=auth)).json()["data"]
    assert btc["asset_class"] == "crypto" and isinstance(btc["price"], str)
    fx = (await svc.client.get("/api/v1/market/forex/eur-usd", headers=auth)).json()["data"]
    assert fx["symbol"] == "EUR-USD" and fx["source"] == "offline:ecb-reference-rates" and fx["currency"] == "USD"
    assert Decimal(fx["price"]) > 0


async def test_second_quote_comes_from_the_cache(svc, jwt_keys, user) -> None:
    auth = jwt_keys.auth(user)
    market = svc.app.state.market
    await svc.client.get("/api/v1/market/stocks/MSFT", headers=auth)
    before = market.fetches
    for _ in range(3):
        assert (await svc.client.get("/api/v1/market/stocks/MSFT", headers=auth)).status_code == 200
    assert market.fetches == before
    assert await svc.app.state.redis.ttl("md:q:stock:MSFT") <= svc.settings.ttl_stock_seconds


async def test_concurrent_cold_requests_fetch_once(svc, jwt_keys, user) -> None:
    auth = jwt_keys.auth(user)
    market = svc.app.state.market
    before = market.fetches
    answers = await asyncio.gather(*(svc.client.get("/api/v1/market/stocks/IBM", headers=auth) for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["data"]["price"] for a in answers}) == 1
    assert market.fetches - before == 1


async def test_quotes_persist_in_asset_prices(svc, jwt_keys, user) -> None:
    from sqlalchemy import select

    from pfms_market_data.models import AssetPrice

    await svc.client.get("/api/v1/market/stocks/AMZN", headers=jwt_keys.auth(user))
    async with svc.db.sessions() as session:
        rows = (await session.scalars(select(AssetPrice).where(AssetPrice.symbol == "AMZN"))).all()
    assert len(rows) == 1 and rows[0].asset_class == "stock" and rows[0].source == "offline:historical-closes"


async def test_unknown_symbol_is_404_and_bad_symbol_422(svc, jwt_keys, user) -> None:
    auth = jwt_keys.auth(user)
    missing = await svc.client.get("/api/v1/market/stocks/ZZZZ", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert (await svc.client.get("/api/v1/market/forex/EUR-XYZ", headers=auth)).status_code == 404
    bad = await svc.client.get("/api/v1/market/stocks/A;B", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "symbol"
    bad_pair = await svc.client.get("/api/v1/market/forex/EURO", headers=auth)
    assert bad_pair.status_code == 422 and bad_pair.json()["error"]["details"][0]["field"] == "pair"


async def test_routes_need_a_signed_in_user(svc) -> None:
    for path in ("/api/v1/market/stocks/AAPL", "/api/v1/market/search?q=a", "/api/v1/market/stream?symbols=AAPL"):
        response = await svc.client.get(path)
        assert response.status_code == 401, path
    internal = await svc.client.get("/internal/v1/market/quotes/AAPL?asset_class=stock")
    assert internal.status_code == 401
    user_token = await svc.client.get(
        "/internal/v1/market/quotes/AAPL?asset_class=stock", headers={"Authorization": "Bearer not-a-service-token"}
    )
    assert user_token.status_code == 401


async def test_history_samples_and_validates(svc, jwt_keys, user) -> None:
    auth = jwt_keys.auth(user)
    url = "/api/v1/market/forex/EUR-USD/history?from=2024-03-01&to=2024-03-31"
    daily = (await svc.client.get(url, headers=auth)).json()["data"]
    assert daily["source"] == "offline:ecb-reference-rates"
    assert daily["closes"][0]["date"] == "2024-03-01" and daily["closes"][-1] == {
        "date": "2024-03-28",
        "close": "1.0811",
        "currency": "USD",
    }
    weekly = (await svc.client.get(url + "&interval=1w", headers=auth)).json()["data"]["closes"]
    assert len(weekly) == 5
    monthly = await svc.client.get("/api/v1/market/stocks/AAPL/history?from=2009-01-01&to=2009-12-31", headers=auth)
    assert len(monthly.json()["data"]["closes"]) == 12
    backwards = await svc.client.get("/api/v1/market/stocks/AAPL/history?from=2010-01-01&to=2009-01-01", headers=auth)
    assert backwards.status_code == 422 and backwards.json()["error"]["details"][0]["field"] == "from"
    bad_date = await svc.client.get("/api/v1/market/stocks/AAPL/history?from=yesterday", headers=auth)
    assert bad_date.status_code == 422 and bad_date.json()["error"]["details"][0]["field"] == "from"
    bad_interval = await svc.client.get("/api/v1/market/stocks/AAPL/history?interval=5m", headers=auth)
    assert bad_interval.status_code == 422 and bad_interval.json()["error"]["details"][0]["field"] == "interval"
    unknown = await svc.client.get("/api/v1/market/crypto/NOPE/history", headers=auth)
    assert unknown.status_code == 404


async def test_search(svc, jwt_keys, user) -> None:
    auth = jwt_keys.auth(user)
    found = (await svc.client.get("/api/v1/market/search?q=apple", headers=auth)).json()["data"]
    assert {"symbol": "AAPL", "name": "Apple Inc.", "asset_class": "stock"} in found
    jpy = (await svc.client.get("/api/v1/market/search?q=JPY", headers=auth)).json()["data"]
    assert any(m["symbol"] == "EUR-JPY" and m["asset_class"] == "forex" for m in jpy)
    empty = await svc.client.get("/api/v1/market/search?q=", headers=auth)
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["field"] == "q"


async def test_internal_quote_history_and_fx(svc) -> None:
    auth = service_auth(svc)
    quote = (await svc.client.get("/internal/v1/market/quotes/GOOG?asset_class=stock", headers=auth)).json()["data"]
    assert set(quote) >= {"symbol", "asset_class", "price", "currency", "as_of", "source", "age_seconds"}
    history = await svc.client.get(
        "/internal/v1/market/history/EUR-GBP?asset_class=forex&from=2024-03-27&to=2024-03-28", headers=auth
    )
    assert [c["date"] for c in history.json()["data"]] == ["2024-03-27", "2024-03-28"]
    # Good Friday 2024-03-29: no fixing, so the rate of Thursday 28th (1 EUR = 1.0811 USD)
    fx = (await svc.client.get("/internal/v1/market/fx?base=EUR&quote=USD&date=2024-03-29", headers=auth)).json()
    assert fx["data"] == {
        "base": "EUR",
        "quote": "USD",
        "date": "2024-03-28",
        "rate": "1.0811",
        "source": "offline:ecb-reference-rates",
    }
    usd_eur = (await svc.client.get("/internal/v1/market/fx?base=usd&quote=eur&date=2024-03-28", headers=auth)).json()
    assert Decimal(usd_eur["data"]["rate"]) == (1 / Decimal("1.0811")).quantize(Decimal("0.0000000001"))
    same = (await svc.client.get("/internal/v1/market/fx?base=USD&quote=USD&date=2024-03-28", headers=auth)).json()
    assert same["data"]["rate"] == "1"
    missing = await svc.client.get("/internal/v1/market/fx?base=EUR&quote=XYZ&date=2024-03-28", headers=auth)
    assert missing.status_code == 404
    bad = await svc.client.get("/internal/v1/market/fx?base=EURO&quote=USD&date=2024-03-28", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "base"
    no_class = await svc.client.get("/internal/v1/market/quotes/GOOG", headers=auth)
    assert no_class.status_code == 422 and no_class.json()["error"]["details"][0]["field"] == "asset_class"
    unknown = await svc.client.get("/internal/v1/market/quotes/ZZZZ?asset_class=stock", headers=auth)
    assert unknown.status_code == 404
