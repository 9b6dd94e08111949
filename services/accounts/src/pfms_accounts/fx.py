"""Exchange rates from market-data (`InternalClient.fx`), remembered per process for past days.

A past day's rate does not change, so it is kept (bounded); today's may, so it is asked each time.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi import FastAPI

from pfms_platform.internal import InternalClient

PAST_RATES_KEPT = 10_000


async def rate(app: FastAPI, base: str, quote: str, day: date) -> Decimal:
    """Units of `quote` per unit of `base` on `day` (or the business day before, as market-data answers)."""
    if base == quote:
        return Decimal(1)
    cache: dict[tuple[str, str, date], Decimal] = app.state.fx_cache
    if (found := cache.get((base, quote, day))) is not None:
        return found
    market: InternalClient = app.state.market
    value = Decimal(str((await market.fx(base, quote, day))["rate"]))
    if day < datetime.now(UTC).date():
        if len(cache) >= PAST_RATES_KEPT:
            cache.clear()
        cache[(base, quote, day)] = value
    return value
