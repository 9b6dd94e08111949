"""Recurring-expense rules: which occurrences are due, what each costs, when to remind. Pure, no I/O."""

import calendar
from datetime import date, timedelta
from decimal import Decimal

from pfms_finance.currency import quantize
from pfms_finance.recurrence import Frequency, next_occurrence, occurrences


def full_years(start: date, day: date) -> int:
    """Whole years from `start` to `day` (a 29 Feb anchor completes its year on 28 Feb of common years)."""
    years = day.year - start.year
    anniversary_passed = (day.month, day.day) >= (start.month, start.day)
    leap_anchor = (start.month, start.day) == (2, 29) and not calendar.isleap(day.year)
    if not anniversary_passed and leap_anchor and (day.month, day.day) == (2, 28):
        anniversary_passed = True
    return years if anniversary_passed else years - 1


def amount_on(base: Decimal, inflation_rate: Decimal, start: date, day: date, currency: str) -> Decimal:
    """The amount of the occurrence on `day`: the base grown by the yearly rate once per full year elapsed.

    Rounded once, to the currency's minor unit (banker's rounding), from the exact compounded value,
    so rounding errors never accumulate year over year.
    """
    years = max(full_years(start, day), 0)
    return quantize(base * (1 + inflation_rate) ** years, currency)


def due(start: date, frequency: Frequency, next_due: date | None, today: date, end: date | None) -> list[date]:
    """Occurrences from `next_due` up to and including `today` (a catch-up after downtime gets them all)."""
    if next_due is None or next_due > today:
        return []
    return list(occurrences(start, frequency, first=next_due, last=today, end=end))


def following(start: date, frequency: Frequency, after: date, end: date | None) -> date | None:
    """The occurrence after `after`, or None when the schedule's end date comes first."""
    nxt = next_occurrence(start, frequency, after)
    return None if end is not None and nxt > end else nxt


def first_due(start: date, frequency: Frequency, end: date | None, *, not_before: date | None = None) -> date | None:
    """The first occurrence on or after `not_before` (default: the start itself)."""
    if not_before is None or not_before <= start:
        return start
    return following(start, frequency, not_before - timedelta(days=1), end)


def remind(next_due: date | None, reminder_days: int, today: date, reminded_for: date | None) -> bool:
    """A reminder goes out once per due date, from `reminder_days` before it (0 disables reminders)."""
    if next_due is None or reminder_days <= 0 or reminded_for == next_due:
        return False
    return today <= next_due <= today + timedelta(days=reminder_days)
