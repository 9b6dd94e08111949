"""What the service needs from market-data, cached in its own tables so analytics stay fast and keep
working while market-data is briefly down: FX rates by date, a latest price when no `price.updated`
has been seen, and a benchmark's history."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.dialects.postgresql import insert
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
    return bool(closes)
