"""Each adapter against a local server replaying its recorded answers; the guard's retries and breaker."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from pfms_market_data.domain import AssetClass
from pfms_market_data.providers.base import UnknownSymbol
from pfms_market_data.providers.coingecko import CoinGeckoProvider
from pfms_market_data.providers.frankfurter import FrankfurterProvider
from pfms_market_data.providers.guarded import Guarded, ProviderDown
from pfms_market_data.providers.offline import CLOSES_SOURCE, ECB_SOURCE, OfflineProvider
from pfms_market_data.providers.stooq import StooqProvider


def guard(provider, **kw) -> Guarded:
    values: dict[str, Any] = {"rate_per_second": 1000.0, "burst": 100, "attempts": 3, "base_delay": 0.001}
    values |= {"failure_threshold": 5, "reset_seconds": 60.0} | kw
    return Guarded(provider, **values)


async def test_coingecko_resolves_the_ticker_and_reads_price_and_history(fresh_replay) -> None:
    cg = CoinGeckoProvider(f"{fresh_replay.url}/cg", timeout=1)
    quote = await cg.quote("BTC", AssetClass.crypto)
    assert (quote.price, quote.currency, quote.source) == (Decimal("67187.3358"), "USD", "coingecko")
    assert quote.as_of == datetime.fromtimestamp(1711356300, UTC)
    history = await cg.history("BTC", AssetClass.crypto, date(2024, 3, 24), date(2024, 3, 26))
    # the last point of each UTC day is that day's close
    assert [(c.day, c.close) for c in history] == [
        (date(2024, 3, 24), Decimal("64102.1185")),
        (date(2024, 3, 25), Decimal("66998.4401")),
        (date(2024, 3, 26), Decimal("69988.0222")),
    ]
    assert fresh_replay.hits["/cg/search"] == 1, "the ticker → id lookup is remembered"
    found = await cg.search("bit")
    assert found[0].symbol == "BTC" and found[0].name == "Bitcoin"
    with pytest.raises(UnknownSymbol):
        await cg.quote("NOPE", AssetClass.crypto)
    await cg.close()


async def test_stooq_reads_the_csv_and_knows_n_d_means_unknown(fresh_replay) -> None:
    stooq = StooqProvider(f"{fresh_replay.url}/stooq", timeout=1)
    quote = await stooq.quote("AAPL", AssetClass.stock)
    assert quote.price == Decimal("172.28")
    assert quote.as_of == datetime(2024, 3, 22, 22, 0, 9, tzinfo=UTC)
    history = await stooq.history("AAPL", AssetClass.stock, date(2024, 3, 18), date(2024, 3, 22))
    assert [c.close for c in history] == [Decimal(x) for x in ("173.72", "176.08", "178.67", "171.37", "172.28")]
    with pytest.raises(UnknownSymbol):
        await stooq.quote("ZZZZ", AssetClass.stock)
    await stooq.close()


async def test_frankfurter_latest_series_and_the_day_before_a_range(fresh_replay) -> None:
    fx = FrankfurterProvider(f"{fresh_replay.url}/fx", timeout=1)
    quote = await fx.quote("EUR-USD", AssetClass.forex)
    assert (quote.price, quote.currency, quote.as_of.date()) == (Decimal("1.0823"), "USD", date(2024, 3, 22))
    series = await fx.history("EUR-USD", AssetClass.forex, date(2024, 3, 24), date(2024, 3, 31))
    assert series[0].day == date(2024, 3, 22), "a range starting on a Sunday includes Friday's rate"
    assert [c.day for c in series][-1] == date(2024, 3, 28)
    assert [m.symbol for m in await fx.search("JPY")] == ["EUR-JPY"]
    with pytest.raises(UnknownSymbol):
        await fx.quote("EUR-XYZ", AssetClass.forex)
    await fx.close()


async def test_guard_retries_then_gives_up_and_the_breaker_opens(fresh_replay) -> None:
    fresh_replay.down = True
    guarded = guard(StooqProvider(f"{fresh_replay.url}/stooq", timeout=1), failure_threshold=2)
    with pytest.raises(ProviderDown):
        await guarded.quote("AAPL", AssetClass.stock)
    assert fresh_replay.hits["/stooq/q/l/"] == 2, "two failures opened the breaker before the third try"
    with pytest.raises(ProviderDown, match="open"):
        await guarded.quote("AAPL", AssetClass.stock)
    assert fresh_replay.hits["/stooq/q/l/"] == 2, "an open breaker does not call the provider"
    await guarded.close()


async def test_guard_passes_unknown_symbols_through_without_tripping(fresh_replay) -> None:
    guarded = guard(StooqProvider(f"{fresh_replay.url}/stooq", timeout=1), failure_threshold=1)
    for _ in range(3):
        with pytest.raises(UnknownSymbol):
            await guarded.quote("ZZZZ", AssetClass.stock)
    assert guarded.breaker.state == "closed"
    assert (await guarded.quote("AAPL", AssetClass.stock)).price == Decimal("172.28")


async def test_guard_times_out_a_slow_provider(fresh_replay) -> None:
    fresh_replay.delay = 0.5
    guarded = guard(StooqProvider(f"{fresh_replay.url}/stooq", timeout=0.1), attempts=2)
    with pytest.raises(ProviderDown):
        await guarded.quote("AAPL", AssetClass.stock)


async def test_offline_provider_serves_real_shipped_history() -> None:
    offline = OfflineProvider()
    eur_usd = await offline.quote("EUR-USD", AssetClass.forex)
    assert eur_usd.source == ECB_SOURCE and eur_usd.currency == "USD"
    # ECB reference rate of 2024-03-28 (the day before Good Friday): 1 EUR = 1.0811 USD
    closes = await offline.history("EUR-USD", AssetClass.forex, date(2024, 3, 29), date(2024, 4, 1))
    assert [(c.day, c.close) for c in closes] == [(date(2024, 3, 28), Decimal("1.0811"))]
    aapl = await offline.quote("AAPL", AssetClass.stock)
    assert aapl.source == CLOSES_SOURCE and aapl.as_of.date() == date(2010, 3, 1)
    assert (await offline.quote("BTC", AssetClass.crypto)).currency == "USD"
    with pytest.raises(UnknownSymbol):
        await offline.quote("ZZZZ", AssetClass.stock)
    with pytest.raises(UnknownSymbol):
        await offline.quote("EUR-XYZ", AssetClass.forex)
    assert {m.symbol for m in await offline.search("micro")} == {"MSFT"}
