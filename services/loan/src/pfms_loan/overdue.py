"""When an instalment is overdue, what late fee it takes, and when to remind (pure; the daily job applies them)."""

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pfms_finance.currency import quantize
from pfms_loan.amortisation import HUNDRED, ZERO


class LateFeeType(StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"
    """Percent of the instalment's scheduled amount (principal + interest)."""


def is_overdue(due: date, grace_days: int, today: date) -> bool:
    """Overdue once the grace period after the due date has fully passed (due 10th, grace 3 → overdue on the 14th)."""
    return today > due + timedelta(days=grace_days)


def days_overdue(due: date, today: date) -> int:
    """Days past the due date itself (the grace period delays the status, not the count)."""
    return max((today - due).days, 0)


def overdue_since(due: date, grace_days: int) -> date:
    return due + timedelta(days=grace_days + 1)


def late_fee(kind: LateFeeType, value: Decimal, instalment_amount: Decimal, currency: str) -> Decimal:
    """The one-off fee an instalment takes when it becomes overdue."""
    if value <= 0:
        return ZERO
    if kind is LateFeeType.FIXED:
        return quantize(value, currency)
    return quantize(instalment_amount * value / HUNDRED, currency)


def reminder_date(due: date, days_before: int) -> date:
    return due - timedelta(days=days_before)


def should_remind(due: date, days_before: int, today: date) -> bool:
    """Within the reminder window: from `days_before` days ahead up to the due date itself."""
    return reminder_date(due, days_before) <= today <= due
