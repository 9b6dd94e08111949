"""Dates of a recurring schedule, with month ends clamped (31 Jan → 28/29 Feb → 31 Mar).

Occurrences are computed from the anchor (the start date) and an index, never by stepping from the
previous occurrence, so a clamped February does not drag every later month to the 28th.
"""

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}
_MONTHS = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.YEARLY: 12}


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by whole months, its day clamped to the target month's length."""
    total = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def occurrence(start: date, frequency: Frequency, index: int) -> date:
    """The `index`-th occurrence (0 is `start`)."""
    if index < 0:
        raise ValueError("index must be >= 0")
    if frequency in _DAYS:
        return start + timedelta(days=_DAYS[frequency] * index)
    return add_months(start, _MONTHS[frequency] * index)


def index_on_or_after(start: date, frequency: Frequency, day: date) -> int:
    """Smallest index whose occurrence is on or after `day`."""
    if day <= start:
        return 0
    if frequency in _DAYS:
        step = _DAYS[frequency]
        return -(-(day - start).days // step)
    months = _MONTHS[frequency]
    guess = max(((day.year - start.year) * 12 + day.month - start.month) // months - 1, 0)
    while occurrence(start, frequency, guess) < day:
        guess += 1
    return guess


def occurrences(
    start: date, frequency: Frequency, *, first: date, last: date, end: date | None = None
) -> Iterator[date]:
    """Occurrences within [first, last], stopping after the schedule's own `end` date if it has one."""
    stop = min(last, end) if end else last
    index = index_on_or_after(start, frequency, first)
    while (day := occurrence(start, frequency, index)) <= stop:
        yield day
        index += 1


def next_occurrence(start: date, frequency: Frequency, after: date) -> date:
    """First occurrence strictly after `after`."""
    return occurrence(start, frequency, index_on_or_after(start, frequency, after + timedelta(days=1)))
