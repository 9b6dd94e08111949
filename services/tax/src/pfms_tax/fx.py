"""Conversion into the regime's currency at each row's own date, with rates from market-data.

A past day's reference rate never changes, so every rate fetched is kept in `tax_fx_rates` and a
calculation asks market-data only for the (currency, day) pairs it has never seen. Amounts are
converted row by row and rounded half-even to the target currency's minor unit. If market-data
cannot answer, the calculation fails with 503 rather than silently leaving a currency out.
"""

import asyncio
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.currency import quantize
from pfms_platform.internal import InternalClient
from pfms_tax.models import FxRate

Pair = tuple[str, date]


class Rates:
    """Rates into one currency, by (from currency, day)."""

    def __init__(self, target: str, rates: dict[Pair, Decimal]) -> None:
        self.target = target
        self.rates = rates

    def convert(self, amount: Decimal, currency: str, day: date | None) -> Decimal:
        """`day` may be None only for an amount already in the target currency."""
        if currency == self.target or day is None:
            return quantize(amount, self.target)
        return quantize(amount * self.rates[(currency, day)], self.target)

    def used(self) -> list[dict[str, str]]:
        return [{"currency": c, "date": d.isoformat(), "rate": str(r)} for (c, d), r in sorted(self.rates.items())]


async def rates(session: AsyncSession, client: InternalClient, target: str, pairs: Iterable[Pair]) -> Rates:
    wanted = {(currency, day) for currency, day in pairs if currency != target}
    if not wanted:
        return Rates(target, {})
    keys = [(currency, target, day) for currency, day in wanted]
    known = await session.execute(
        select(FxRate.base, FxRate.day, FxRate.rate).where(tuple_(FxRate.base, FxRate.quote, FxRate.day).in_(keys))
    )
    found: dict[Pair, Decimal] = {(base, day): rate for base, day, rate in known.all()}
    missing = sorted(wanted - found.keys())
    if missing:
        answers = await asyncio.gather(*(client.fx(currency, target, day) for currency, day in missing))
        rows = []
        for (currency, day), answer in zip(missing, answers, strict=True):
            rate = found[(currency, day)] = Decimal(str(answer["rate"]))
            rows.append({"base": currency, "quote": target, "day": day, "rate": rate, "source": answer["source"]})
        await session.execute(insert(FxRate).values(rows).on_conflict_do_nothing())
    return Rates(target, found)
