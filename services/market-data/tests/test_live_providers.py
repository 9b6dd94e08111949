"""The service on the HTTP providers (replayed locally); an outage serves the cached value with its age, then 503."""

import asyncio

import pytest

pytestmark = pytest.mark.integration


async def test_live_providers_answer_through_the_service(make_service, live, jwt_keys, user) -> None:
    svc = await make_service("market-data", **live())
    auth = jwt_keys.auth(user)
    aapl = (await svc.client.get("/api/v1/market/stocks/AAPL", headers=auth)).json()["data"]
    assert (aapl["price"], aapl["source"], aapl["as_of"]) == ("172.28", "stooq", "2024-03-22T22:00:09Z")
    btc = (await svc.client.get("/api/v1/market/crypto/btc", headers=auth)).json()["data"]
    assert (btc["price"], btc["source"]) == ("67187.3358", "coingecko")
    fx = (await svc.client.get("/api/v1/market/forex/EUR-USD", headers=auth)).json()["data"]
    assert (fx["price"], fx["source"]) == ("1.0823", "frankfurter")
    history = await svc.client.get("/api/v1/market/stocks/AAPL/history?from=2024-03-18&to=2024-03-22", headers=auth)
    assert [c["close"] for c in history.json()["data"]["closes"]][-1] == "172.28"
    found = (await svc.client.get("/api/v1/market/search?q=bit", headers=auth)).json()["data"]
    assert found[0] == {"symbol": "BTC", "name": "Bitcoin", "asset_class": "crypto"}
    missing = await svc.client.get("/api/v1/market/stocks/ZZZZ", headers=auth)
    assert missing.status_code == 404


async def test_outage_serves_the_cached_value_with_its_age_then_503(
    make_service, live, fresh_replay, jwt_keys, user
) -> None:
    svc = await make_service("market-data", **live(ttl_stock_seconds=1, breaker_failures=100))
    auth = jwt_keys.auth(user)
    first = (await svc.client.get("/api/v1/market/stocks/AAPL", headers=auth)).json()["data"]
    assert first["stale"] is False
    await asyncio.sleep(1.1)  # the fresh entry expired
    fresh_replay.down = True
    served = await svc.client.get("/api/v1/market/stocks/AAPL", headers=auth)
    assert served.status_code == 200
    body = served.json()["data"]
    assert body["stale"] is True and body["price"] == "172.28" and body["age_seconds"] > 0
    assert body["as_of"] == first["as_of"], "the cached value keeps the time the market set it"
    # without the Redis copy, the last price persisted in asset_prices still answers
    await svc.app.state.redis.delete("md:last:stock:AAPL")
    from_db = (await svc.client.get("/api/v1/market/stocks/AAPL", headers=auth)).json()["data"]
    assert from_db["stale"] is True and from_db["price"] == "172.28"
    never_seen = await svc.client.get("/api/v1/market/crypto/BTC", headers=auth)
    assert never_seen.status_code == 503
    error = never_seen.json()["error"]
    assert error["code"] == "UPSTREAM_UNAVAILABLE" and "BTC" in error["message"]
    history = await svc.client.get("/api/v1/market/crypto/BTC/history?from=2024-03-24&to=2024-03-26", headers=auth)
    assert history.status_code == 503
    search = await svc.client.get("/api/v1/market/search?q=bit", headers=auth)
    assert search.status_code == 503


async def test_the_breaker_stops_calling_a_dead_provider(make_service, live, fresh_replay, jwt_keys, user) -> None:
    svc = await make_service("market-data", **live(breaker_failures=2, provider_attempts=3))
    fresh_replay.down = True
    auth = jwt_keys.auth(user)
    for _ in range(3):
        assert (await svc.client.get("/api/v1/market/stocks/AAPL", headers=auth)).status_code == 503
    assert fresh_replay.hits["/stooq/q/l/"] == 2, "after two failures the breaker answers without calling"
