"""Habit rules: the cost of a log, weekly/monthly stats and progress towards the target reduction."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from pfms_finance.currency import quantize

WEEKS_PER_MONTH = Decimal(52) / Decimal(12)


class StatsPeriod(StrEnum):
    WEEK = "week"
    MONTH = "month"


def log_cost(unit_cost: Decimal, quantity: int, currency: str) -> Decimal:
    return quantize(unit_cost * quantity, currency)


def period_start(day: date, period: StatsPeriod) -> date:
    """ISO weeks start on Monday; months on the 1st."""
    if period is StatsPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period_start(start: date, period: StatsPeriod) -> date:
    if period is StatsPeriod.WEEK:
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


@dataclass(frozen=True)
class Bucket:
    start: date
    quantity: int
    cost: Decimal


def buckets(logs: Iterable[tuple[date, int, Decimal]], period: StatsPeriod, first: date, last: date) -> list[Bucket]:
    """One bucket per period from the one holding `first` to the one holding `last`, empty ones included."""
    totals: dict[date, tuple[int, Decimal]] = {}
    for day, quantity, cost in logs:
        key = period_start(day, period)
        q, c = totals.get(key, (0, Decimal(0)))
        totals[key] = (q + quantity, c + cost)
    out = []
    start = period_start(first, period)
    while start <= last:
        q, c = totals.get(start, (0, Decimal(0)))
        out.append(Bucket(start, q, c))
        start = next_period_start(start, period)
    return out


def baseline_for(period: StatsPeriod, baseline_per_week: Decimal) -> Decimal:
    return baseline_per_week if period is StatsPeriod.WEEK else baseline_per_week * WEEKS_PER_MONTH


@dataclass(frozen=True)
class Progress:
    baseline: Decimal | None
    current: int
    reduction_percent: Decimal | None
    target_reduction: int
    on_track: bool | None


def progress(baseline: Decimal | None, current: int, target_reduction: int) -> Progress:
    """Reduction of the current period against the baseline, in percent (two decimals).

    With no baseline (none set and no earlier logs) there is nothing to measure against: None.
    """
    if baseline is None or baseline <= 0:
        return Progress(baseline, current, None, target_reduction, None)
    reduction = ((baseline - current) * 100 / baseline).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return Progress(
        baseline.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN),
        current,
        reduction,
        target_reduction,
        reduction >= target_reduction,
    )


def observed_baseline(earlier: list[Bucket]) -> Decimal | None:
    """Without a declared baseline, the average of the periods before the current one that had logs."""
    used = [b.quantity for b in earlier]
    if not any(used):
        return None
    return Decimal(sum(used)) / len(used)
