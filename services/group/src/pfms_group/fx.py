"""Conversion of an expense into the group's currency with market-data's rate on the expense date."""

from datetime import date
from decimal import Decimal

from pfms_platform.internal import InternalClient

RATE_PLACES = Decimal("1e-10")
"""The stored precision (NUMERIC(20,10)); the rate is rounded to it before use, so stored = used."""


async def rate(market: InternalClient, base: str, quote: str, day: date) -> tuple[Decimal, str | None]:
    """Units of `quote` per unit of `base` on `day`, and the source that gave it."""
    if base == quote:
        return Decimal(1), None
    data = await market.fx(base, quote, day)
    return Decimal(str(data["rate"])).quantize(RATE_PLACES), str(data.get("source") or "market-data")
