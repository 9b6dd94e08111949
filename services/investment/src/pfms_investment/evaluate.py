"""Gathers a portfolio's asset states, prices and rates (fetching what the caches lack) for the pure analytics."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_investment import market, state_store, store
from pfms_investment.analytics import analyse
from pfms_investment.lots import Method
from pfms_investment.models import Portfolio
from pfms_investment.returns import PERIODS, period_start
from pfms_investment.schemas import market_class
from pfms_investment.valuation import EMPTY, NO_PRICES, FxTable, MissingRate, series
from pfms_platform.internal import InternalClient, UpstreamUnavailable

_history_tried: dict[tuple[str, str], date] = {}
"""Benchmarks whose history this process asked market-data for today: once a day is enough, even when
market-data has no older closes to give."""


def today_utc() -> date:
    return datetime.now(UTC).date()


def _needed_rates(base: str, first_day: dict[str, date], cached: FxTable, today: date) -> set[tuple[str, str, date]]:
    """A rate on or before each currency's first transaction, and today's."""
    wanted = set()
    for currency, first in first_day.items():
        span = cached.span(currency)
        if span is None or span[0] > first:
            wanted.add((currency, base, first))
        if span is None or span[1] < today:
            wanted.add((currency, base, today))
    return wanted


async def portfolio_analytics(
    session: AsyncSession, client: InternalClient | None, portfolio: Portfolio, today: date
) -> dict[str, Any]:
    """Analytics of one portfolio. With no client (the snapshot job) nothing is fetched: only caches are used."""
    base = portfolio.base_currency
    assets = await store.asset_metas(session, portfolio.id)
    holdings = await state_store.holdings(session, portfolio)
    stale: list[str] = []

    keys = {(a.symbol, c) for a in assets if (c := market_class(a.asset_type))}
    prices = await state_store.price_series(session, keys, today)
    if client is not None:
        unpriced = [k for k in keys if k not in prices and _asset_id(assets, k) in holdings]
        fetched = False
        for symbol, asset_class in unpriced:
            if await market.fetch_quote(session, client, symbol, asset_class):
                fetched = True
            else:
                stale.append(f"price:{symbol}")
        if fetched:
            prices = await state_store.price_series(session, keys, today)
    manual = await store.manual_prices(session, [a.id for a in assets if market_class(a.asset_type) is None])

    first_day: dict[str, date] = {}
    for a in assets:
        held = holdings.get(a.id)
        if held is not None and (start := held.first_day) is not None and a.currency != base:
            first_day[a.currency] = min(first_day.get(a.currency, start), start)
    fx = FxTable.packed(base, await store.fx_rates(session, base, set(first_day)))
    wanted = _needed_rates(base, first_day, fx, today)
    if wanted and client is not None:
        stale += await market.fetch_rates(session, client, wanted)
        fx = FxTable.packed(base, await store.fx_rates(session, base, set(first_day)))

    benchmark = None
    if portfolio.benchmark_symbol and portfolio.benchmark_asset_class:
        key = (portfolio.benchmark_symbol, portfolio.benchmark_asset_class)
        first = min((d for h in holdings.values() if (d := h.first_day) is not None), default=today)
        starts = [period_start(p, today, first) for p in PERIODS]
        oldest, closes = await store.prices_on(session, key, [*starts, today])
        earliest = min(starts)
        if client is not None and (oldest is None or oldest > earliest) and _history_tried.get(key) != today:
            _history_tried[key] = today
            if await market.fetch_history(session, client, *key, earliest, today):
                _, closes = await store.prices_on(session, key, [*starts, today])
            else:
                stale.append(f"benchmark:{key[0]}")
        benchmark = closes

    series_of = [
        prices.get((a.symbol, c), NO_PRICES) if (c := market_class(a.asset_type)) else series(manual.get(a.id, []))
        for a in assets
    ]
    try:
        result = analyse(
            base,
            Method(portfolio.cost_method),
            assets,
            [holdings.get(a.id, EMPTY) for a in assets],
            series_of,
            fx,
            today,
            benchmark,
        )
    except MissingRate as exc:
        raise UpstreamUnavailable(
            f"No {exc.currency}/{exc.base} rate for {exc.day} is cached and market-data could not be reached",
            field="base_currency",
        ) from exc
    if portfolio.benchmark_symbol:
        result["benchmark"] = {"symbol": portfolio.benchmark_symbol, "asset_class": portfolio.benchmark_asset_class}
    result["stale"] = stale
    return result


def _asset_id(assets: list[Any], key: tuple[str, str]) -> Any:
    return next(a.id for a in assets if (a.symbol, market_class(a.asset_type)) == key)
