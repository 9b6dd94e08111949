"""Return maths (pure): time-weighted return, money-weighted return (XIRR), the standard periods.

Cash flows are seen from the portfolio: a contribution (buy, transfer in, a fee paid in) is
positive, a withdrawal (sell proceeds, dividends paid out, transfer out) negative.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from dateutil.relativedelta import relativedelta
from pyxirr import InvalidPaymentsError, xirr

RATE = Decimal("0.000001")
ONE = Decimal(1)

PERIODS = ("1M", "3M", "YTD", "1Y", "ALL")


Number = float | Decimal
"""Values and flows feed only ratios: the analytics walk gives floats, hand-worked examples may use Decimal."""


@dataclass(frozen=True, slots=True)
class Point:
    """The portfolio at the end of `day`: its value after that day's flows, and the net flow of the day."""

    day: date
    value: Number
    flow: Number


def rate(value: Decimal) -> Decimal:
    return value.quantize(RATE, rounding=ROUND_HALF_EVEN)


def to_rate(value: float) -> Decimal | None:
    """A float ratio as a 6-decimal Decimal (None if it is not finite: a value fell to zero or below)."""
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return rate(Decimal(repr(value)))


def period_start(period: str, today: date, first: date) -> date:
    """The day whose closing value a period starts from (the day before its first day)."""
    if period == "1M":
        return today - relativedelta(months=1)
    if period == "3M":
        return today - relativedelta(months=3)
    if period == "YTD":
        return date(today.year - 1, 12, 31)
    if period == "1Y":
        return today - relativedelta(years=1)
    if period == "ALL":
        return first - timedelta(days=1)
    raise ValueError(f"unknown period {period}")


def twr(start_value: Number, points: Sequence[Point]) -> Decimal | None:
    """Time-weighted return: sub-periods between flow days, linked geometrically.

    A day's flows happen at its close (the sub-period return is (V_end - flow) / V_start - 1), except
    when nothing was invested before: then the day's return is V_end / flow - 1, so fees paid on the
    very first buy still count. None when nothing was ever invested in the period.
    """
    growth, previous, invested = 1.0, float(start_value), start_value > 0
    for point in points:
        value, flow = float(point.value), float(point.flow)
        if previous > 0:
            growth *= (value - flow) / previous
        elif flow > 0:
            growth *= value / flow
            invested = True
        previous = value
    return to_rate(growth - 1.0) if invested else None


def money_weighted(
    start: date, start_value: Number, points: Sequence[Point], end: date, end_value: Number
) -> Decimal | None:
    """XIRR (annualised, actual/365) of the start value, the period's flows and the end value.

    None when the flows admit no rate (all of one sign, or no solution), instead of a made-up number.
    """
    dates: list[date] = []
    amounts: list[float] = []
    if start_value > 0:
        dates.append(start)
        amounts.append(-float(start_value))
    for point in points:
        if point.flow:
            dates.append(point.day)
            amounts.append(-float(point.flow))
    dates.append(end)
    amounts.append(float(end_value))
    return solve_xirr(dates, amounts)


def solve_xirr(dates: Sequence[date], amounts: Sequence[float]) -> Decimal | None:
    """pyxirr's solver (Newton with a Brent fallback); None when no rate exists."""
    if not any(a > 0 for a in amounts) or not any(a < 0 for a in amounts):
        return None
    try:
        result = xirr(list(dates), list(amounts))
    except (InvalidPaymentsError, ValueError):
        return None
    if result is None or result != result:  # NaN: no convergence
        return None
    return to_rate(result)


def simple_return(start: Decimal | None, end: Decimal | None) -> Decimal | None:
    """end / start - 1 for a price series (the benchmark); None without both prices."""
    if start is None or end is None or start <= 0:
        return None
    return rate(end / start - ONE)
