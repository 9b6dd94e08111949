"""What the service needs from market-data, cached in its own tables so analytics stay fast and keep
working while market-data is briefly down: FX rates by date, a latest price when no `price.updated`
has been seen, and a benchmark's history."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_investment.models import CachedFxRate, DailyPrice
from pfms_platform.errors import NotFound
from pfms_platform.internal import InternalClient, UpstreamUnavailable
from pfms_platform.logging import get_logger

log = get_logger(__name__)

FETCH_CONCURRENCY = 8


async def save_price(
    session: AsyncSession, symbol: str, asset_class: str, price: Decimal, currency: str, as_of: datetime, source: str
) -> None:
    """Keep the latest price of each day (a later `as_of` replaces an earlier one; an older one is ignored)."""
    values = {
        "symbol": symbol,
        "asset_class": asset_class,
        "day": as_of.astimezone(UTC).date(),
        "price": price,
        "currency": currency,
        "as_of": as_of,
        "source": source,
    }
    statement = insert(DailyPrice).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["symbol", "asset_class", "day"],
            set_={k: statement.excluded[k] for k in ("price", "currency", "as_of", "source")},
            where=DailyPrice.as_of < statement.excluded.as_of,
        )
    )


PACK = (
    "INSERT INTO price_series (symbol, asset_class, days, prices, first_day, last_day, last_price)"
    # A day as Python's date.toordinal() (0001-01-01 is day 1; both calendars proleptic Gregorian).
    " SELECT p.symbol, p.asset_class, string_agg(int4send(p.day - DATE '0001-01-01' + 1), '' ORDER BY p.day),"
    " string_agg(float8send(p.price::float8), '' ORDER BY p.day), min(p.day), max(p.day),"
    " (array_agg(p.price ORDER BY p.day DESC))[1]"
    " FROM daily_prices p JOIN unnest(:symbols, :classes) AS k(symbol, asset_class) USING (symbol, asset_class)"
    " GROUP BY p.symbol, p.asset_class ON CONFLICT (symbol, asset_class) DO UPDATE SET days = excluded.days,"
    " prices = excluded.prices, first_day = excluded.first_day, last_day = excluded.last_day,"
    " last_price = excluded.last_price"
)


async def pack_prices(session: AsyncSession, keys: set[tuple[str, str]]) -> None:
    """Rebuild the packed series (`price_series`) of these (symbol, class) pairs from their daily prices:
    called after a batch of `save_price`, in the same transaction."""
    if keys:
        ordered = sorted(keys)
        await session.execute(
            text(PACK).bindparams(bindparam("symbols", type_=ARRAY(String)), bindparam("classes", type_=ARRAY(String))),
            {"symbols": [k[0] for k in ordered], "classes": [k[1] for k in ordered]},
        )


async def save_rate(session: AsyncSession, base: str, quote: str, day: date, rate: Decimal, source: str) -> None:
    statement = insert(CachedFxRate).values(base=base, quote=quote, day=day, rate=rate, source=source)
    await session.execute(statement.on_conflict_do_nothing())


async def fetch_rates(session: AsyncSession, client: InternalClient, wanted: set[tuple[str, str, date]]) -> list[str]:
    """Fetch and cache the (currency, base, day) rates asked for; returns what could not be fetched."""
    semaphore = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(currency: str, base: str, day: date) -> tuple[tuple[str, str, date], dict[str, Any] | None]:
        async with semaphore:
            try:
                return (currency, base, day), await client.fx(currency, base, day)
            except (UpstreamUnavailable, NotFound) as exc:
                log.warning("fx fetch failed", pair=f"{currency}/{base}", day=str(day), error=str(exc)[:200])
                return (currency, base, day), None

    missing = []
    for (currency, base, day), data in await asyncio.gather(*(one(*w) for w in sorted(wanted))):
        if data is None:
            missing.append(f"fx:{currency}/{base}@{day.isoformat()}")
        else:
            await save_rate(session, currency, base, day, Decimal(str(data["rate"])), str(data.get("source", "")))
    return missing


async def fetch_quote(session: AsyncSession, client: InternalClient, symbol: str, asset_class: str) -> bool:
    """The quote fallback for a symbol no `price.updated` has priced yet; False if market-data has none."""
    try:
        data = await client.quote(symbol, asset_class)
    except (UpstreamUnavailable, NotFound) as exc:
        log.warning("quote fetch failed", symbol=symbol, error=str(exc)[:200])
        return False
    as_of = datetime.fromisoformat(str(data["as_of"]))
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    await save_price(
        session, symbol, asset_class, Decimal(str(data["price"])), str(data["currency"]), as_of, str(data["source"])
    )
    await pack_prices(session, {(symbol, asset_class)})
    return True


async def fetch_history(
    session: AsyncSession, client: InternalClient, symbol: str, asset_class: str, start: date, end: date
) -> bool:
    """Daily closes of a benchmark into the price table; False if market-data could not answer."""
    try:
        closes = await client.history(symbol, asset_class, start - timedelta(days=7), end)
    except (UpstreamUnavailable, NotFound) as exc:
        log.warning("history fetch failed", symbol=symbol, error=str(exc)[:200])
        return False
    for close in closes:
        day = date.fromisoformat(str(close["date"]))
        as_of = datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC)
        await save_price(
            session, symbol, asset_class, Decimal(str(close["close"])), str(close["currency"]), as_of, "history"
        )
    await pack_prices(session, {(symbol, asset_class)})
    return bool(closes)
