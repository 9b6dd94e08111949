"""Pure rules of the savings service: round-ups, progress, projections, milestones, the emergency fund.

No I/O here: every function takes plain values (amounts as `Decimal`, days as `date`) so the rules
are unit-tested on their own. Money is rounded explicitly to the currency's minor unit.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from pfms_finance.currency import minor_unit, quantize
from pfms_finance.recurrence import Frequency, occurrences


class GoalCategory(StrEnum):
    EMERGENCY_FUND = "emergency_fund"
    RETIREMENT = "retirement"
    EDUCATION = "education"
    HOME = "home"
    VEHICLE = "vehicle"
    TRAVEL = "travel"
    WEDDING = "wedding"
    DEBT_PAYOFF = "debt_payoff"
    INVESTMENT = "investment"
    OTHER = "other"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class GoalStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class EntryKind(StrEnum):
    CONTRIBUTION = "contribution"
    WITHDRAWAL = "withdrawal"


class EntrySource(StrEnum):
    MANUAL = "manual"
    ROUND_UP = "round_up"
    INCOME_PERCENT = "income_percent"
    SCHEDULED = "scheduled"
    AUTOMATION = "automation"


class RuleKind(StrEnum):
    ROUND_UP = "round_up"
    INCOME_PERCENT = "income_percent"
    SCHEDULED = "scheduled"


ROUND_UP_UNITS = (Decimal(1), Decimal(5), Decimal(10))
MILESTONES = (25, 50, 75)
ACHIEVED = 100
DAYS_PER_MONTH = Decimal("30.436875")  # 365.2425 / 12: a Gregorian month on average
MIN_HISTORY_DAYS = 30
"""A projection divides by at least a month of history, so one deposit today does not promise the moon."""


def round_up(amount: Decimal, unit: Decimal) -> Decimal:
    """What tops `amount` up to the next multiple of `unit` (0 for an exact multiple)."""
    if amount < 0 or unit <= 0:
        raise ValueError("amount must be >= 0 and unit > 0")
    remainder = amount % unit
    return unit - remainder if remainder else Decimal(0)


def percent_of(amount: Decimal, percent: Decimal, currency: str) -> Decimal:
    """`percent` % of `amount`, rounded down to the minor unit (a rule never saves more than it says)."""
    return (amount * percent / 100).quantize(minor_unit(currency), rounding=ROUND_DOWN)


def percentage(saved: Decimal, target: Decimal) -> Decimal:
    """Saved as a percentage of the target to two decimals, rounded down (99.999 % is not yet 100 %)."""
    return (saved * 100 / target).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def thresholds_reached(saved: Decimal, target: Decimal) -> list[int]:
    """Milestones (25/50/75) and 100 (achieved) that `saved` has reached; the store keeps each only once."""
    return [p for p in (*MILESTONES, ACHIEVED) if saved * 100 >= target * p]


def required_monthly(remaining: Decimal, today: date, target_date: date, currency: str) -> Decimal:
    """Monthly saving that reaches the target on its date, rounded up to the minor unit.

    Months left is the exact number of average months until the date (at least one: a target due
    this month, or already past, needs everything now).
    """
    if remaining <= 0:
        return quantize(Decimal(0), currency)
    months = max(Decimal((target_date - today).days) / DAYS_PER_MONTH, Decimal(1))
    return (remaining / months).quantize(minor_unit(currency), rounding=ROUND_CEILING)


@dataclass(frozen=True)
class History:
    """What the projection needs from the contribution history: net saved since the first entry."""

    first_day: date | None
    net_saved: Decimal


def span_days(history: History, today: date) -> int:
    """Days the history covers: from the first entry through today, at least `MIN_HISTORY_DAYS`."""
    if history.first_day is None:
        return MIN_HISTORY_DAYS
    return max((today - history.first_day).days + 1, MIN_HISTORY_DAYS)


def daily_rate(history: History, today: date) -> Decimal:
    """Average net saving per day over the history's span."""
    return history.net_saved / span_days(history, today) if history.first_day else Decimal(0)


def projected_completion(remaining: Decimal, history: History, today: date) -> date | None:
    """The day the goal is reached at the pace of its history; None when the pace is not positive.

    Today when nothing remains. Projections beyond year 9999 are None too (no date can hold them).
    """
    if remaining <= 0:
        return today
    if history.first_day is None or history.net_saved <= 0:
        return None
    # remaining / (net / span) without the rounded rate in between, so the date is exact
    days = int((remaining * span_days(history, today) / history.net_saved).to_integral_value(rounding=ROUND_CEILING))
    try:
        return today + timedelta(days=days)
    except OverflowError:
        return None


def on_track(remaining: Decimal, projected: date | None, target_date: date | None) -> bool | None:
    """Reached, or projected to be reached by the target date; None for a goal without a date."""
    if remaining <= 0:
        return True
    if target_date is None:
        return None
    return projected is not None and projected <= target_date


SCHEDULE_FREQUENCIES = (Frequency.DAILY, Frequency.WEEKLY, Frequency.MONTHLY)


def due_runs(start: date, frequency: Frequency, next_run: date, today: date, limit: int) -> list[date]:
    """Runs of a schedule from `next_run` through `today` (catch-up after downtime), at most `limit`."""
    runs: list[date] = []
    for day in occurrences(start, frequency, first=next_run, last=today):
        if len(runs) == limit:
            break
        runs.append(day)
    return runs


def monthly_average(total: Decimal, months: int, currency: str) -> Decimal:
    return (total / months).quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN) if months else Decimal(0)


def months_window(today: date, months: int) -> tuple[date, date]:
    """The last `months` whole calendar months before today's month: [first day, last day]."""
    first_of_this = today.replace(day=1)
    end = first_of_this - timedelta(days=1)
    year, month = divmod(first_of_this.year * 12 + first_of_this.month - 1 - months, 12)
    return date(year, month + 1, 1), end


def months_between(first: date, last: date) -> int:
    """Calendar months from `first`'s month through `last`'s, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


@dataclass(frozen=True)
class EmergencyFund:
    """The fund one currency's spending calls for, and how far the user's emergency goals cover it."""

    currency: str
    monthly_expenses: Decimal
    minimum: Decimal
    recommended: Decimal
    saved: Decimal
    shortfall: Decimal
    months_covered: Decimal | None


def emergency_fund(
    currency: str, spent: Decimal, months: int, saved: Decimal, min_months: int, max_months: int
) -> EmergencyFund:
    """`min_months`-`max_months` months of the average monthly spending of the last `months` months."""
    monthly = monthly_average(spent, months, currency)
    recommended = quantize(monthly * max_months, currency)
    return EmergencyFund(
        currency=currency,
        monthly_expenses=monthly,
        minimum=quantize(monthly * min_months, currency),
        recommended=recommended,
        saved=quantize(saved, currency),
        shortfall=quantize(max(recommended - saved, Decimal(0)), currency),
        months_covered=(saved / monthly).quantize(Decimal("0.1"), rounding=ROUND_DOWN) if monthly > 0 else None,
    )
