"""Budget periods, spent/remaining/percentage and threshold crossings: pure rules, no I/O.

Periods are anchored on the budget's start date (a monthly budget starting on the 15th runs from
the 15th to the 14th; one starting on the 1st follows calendar months), computed from the anchor
with `pfms_finance.recurrence`, so month ends clamp the same way schedules do.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from pfms_finance.currency import quantize
from pfms_finance.recurrence import Frequency, index_on_or_after, occurrence

DEFAULT_THRESHOLDS = (50, 80, 100)
HUNDRED = Decimal(100)


class BudgetPeriod(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"
    CUSTOM = "custom"


_STEP = {
    BudgetPeriod.WEEKLY: Frequency.WEEKLY,
    BudgetPeriod.MONTHLY: Frequency.MONTHLY,
    BudgetPeriod.YEARLY: Frequency.YEARLY,
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


def period_containing(kind: BudgetPeriod, start: date, end: date | None, day: date) -> Period | None:
    """The budget period `day` falls in, or None before the start, after the end date."""
    if day < start or (end is not None and day > end):
        return None
    if kind is BudgetPeriod.CUSTOM:
        assert end is not None, "a custom budget has an end date"
        return Period(start, end)
    step = _STEP[kind]
    index = index_on_or_after(start, step, day)
    if occurrence(start, step, index) > day:
        index -= 1
    period_end = occurrence(start, step, index + 1) - timedelta(days=1)
    return Period(occurrence(start, step, index), min(period_end, end) if end else period_end)


def previous_period(kind: BudgetPeriod, start: date, current: Period) -> Period | None:
    """The period before `current` (what rolls over into it), None for the first or a custom one."""
    if kind is BudgetPeriod.CUSTOM or current.start <= start:
        return None
    return period_containing(kind, start, None, current.start - timedelta(days=1))


def rollover(previous_available: Decimal, previous_spent: Decimal) -> Decimal:
    """What was left unspent last period carries over; an overspend is not carried as debt."""
    return max(previous_available - previous_spent, Decimal(0))


@dataclass(frozen=True)
class Status:
    budget_amount: Decimal
    rollover_amount: Decimal
    available: Decimal
    spent: Decimal
    remaining: Decimal
    percent_used: Decimal


def percent_used(spent: Decimal, available: Decimal) -> Decimal:
    """Percentage with two decimals, banker's rounding; 0 when nothing is available and nothing spent."""
    if available <= 0:
        return Decimal("0.00") if spent <= 0 else Decimal("100.00")
    return (spent * HUNDRED / available).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def status(amount: Decimal, spent: Decimal, currency: str, rollover_amount: Decimal = Decimal(0)) -> Status:
    available = quantize(amount + rollover_amount, currency)
    spent = quantize(spent, currency)
    return Status(
        budget_amount=quantize(amount, currency),
        rollover_amount=quantize(rollover_amount, currency),
        available=available,
        spent=spent,
        remaining=available - spent,
        percent_used=percent_used(spent, available),
    )


def reached(thresholds: list[int] | tuple[int, ...], spent: Decimal, available: Decimal) -> list[int]:
    """Thresholds (percent) that spending has reached, compared exactly (no rounding decides an alert)."""
    return sorted(t for t in set(thresholds) if spent * HUNDRED >= available * t)
