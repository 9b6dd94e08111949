"""Vocabulary and small rules of loans, instalments and disputes (pure; the money maths has its own modules)."""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pfms_loan.overdue import is_overdue


class ContactType(StrEnum):
    APP_USER = "app_user"
    EXTERNAL = "external"


class LoanType(StrEnum):
    BORROWED = "borrowed"
    LENT = "lent"


class Role(StrEnum):
    """The caller's side of a loan: who recorded it, or the app user its contact is linked to."""

    OWNER = "owner"
    COUNTERPARTY = "counterparty"


def mirrored(loan_type: str, role: Role) -> str:
    """The loan's type seen from `role`'s side: the owner's `lent` is the counterparty's `borrowed`."""
    if role is Role.OWNER:
        return loan_type
    return LoanType.BORROWED.value if loan_type == LoanType.LENT.value else LoanType.LENT.value


class LoanStatus(StrEnum):
    ACTIVE = "active"
    PAID = "paid"
    OVERDUE = "overdue"
    CANCELLED = "cancelled"
    DEFAULTED = "defaulted"


CLOSED = frozenset({LoanStatus.PAID, LoanStatus.CANCELLED, LoanStatus.DEFAULTED})
"""A closed loan takes no payment and no job touches it."""


class InstalmentStatus(StrEnum):
    PENDING = "pending"
    PARTIAL = "partial"
    OVERDUE = "overdue"
    PAID = "paid"
    SKIPPED = "skipped"
    WAIVED = "waived"


OPEN_INSTALMENT = (InstalmentStatus.PENDING, InstalmentStatus.PARTIAL, InstalmentStatus.OVERDUE)


class PaymentType(StrEnum):
    REGULAR = "regular"
    PREPAYMENT = "prepayment"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class ReminderType(StrEnum):
    UPCOMING = "upcoming"
    OVERDUE = "overdue"


class DisputeStatus(StrEnum):
    OPEN = "open"
    RESPONDED = "responded"
    RESOLVED = "resolved"


def instalment_status(outstanding: Decimal, paid: Decimal, due: date, grace_days: int, today: date) -> InstalmentStatus:
    """Paid when nothing is left; overdue once past the grace period; partial when something was paid."""
    if outstanding == 0:
        return InstalmentStatus.PAID
    if is_overdue(due, grace_days, today):
        return InstalmentStatus.OVERDUE
    return InstalmentStatus.PARTIAL if paid > 0 else InstalmentStatus.PENDING


def loan_status(current: LoanStatus, owed: Decimal, any_overdue: bool) -> LoanStatus:
    """Paid at zero; otherwise overdue while an instalment is overdue; cancelled and defaulted stay put."""
    if current in (LoanStatus.CANCELLED, LoanStatus.DEFAULTED):
        return current
    if owed == 0:
        return LoanStatus.PAID
    return LoanStatus.OVERDUE if any_overdue else LoanStatus.ACTIVE


def changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, before and after, for the activity log."""
    keys = [k for k in new if old.get(k) != new[k]]
    return {k: old.get(k) for k in keys}, {k: new[k] for k in keys}


DISPUTE_MOVES: dict[DisputeStatus, frozenset[str]] = {
    DisputeStatus.OPEN: frozenset({"respond", "resolve"}),
    DisputeStatus.RESPONDED: frozenset({"respond", "resolve"}),
    DisputeStatus.RESOLVED: frozenset(),
}


def dispute_can(status: DisputeStatus, move: str) -> bool:
    return move in DISPUTE_MOVES[status]


def after_answer(status: DisputeStatus, raised_by: Any, by: Any) -> DisputeStatus:
    """An answer from the other party makes the dispute `responded`; the raiser's follow-up leaves it as it was."""
    return DisputeStatus.RESPONDED if by != raised_by else status
