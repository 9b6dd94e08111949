"""How a payment is split: late fee → interest → principal, oldest instalment first.

Pure functions over Decimal. An allocation never invents or loses money: its parts sum to the
amount paid, and the principal it takes off is exactly what the instalments (or the balance) lose.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from pfms_finance.currency import quantize
from pfms_loan.amortisation import HUNDRED, ZERO, Compounding, InterestType


@dataclass(frozen=True, slots=True)
class Due:
    """What one instalment still owes, by part."""

    number: int
    due_date: date
    late_fee: Decimal
    interest: Decimal
    principal: Decimal
    started: bool = False
    """Something was already paid on it (a prepayment settles it before touching the principal)."""

    @property
    def total(self) -> Decimal:
        return self.late_fee + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class Part:
    """What a payment put on one instalment (number None: principal prepaid beyond the schedule)."""

    number: int | None
    late_fee: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.late_fee + self.interest + self.principal


@dataclass(frozen=True, slots=True)
class Allocation:
    parts: list[Part] = field(default_factory=list)

    @property
    def late_fee(self) -> Decimal:
        return sum((p.late_fee for p in self.parts), ZERO)

    @property
    def interest(self) -> Decimal:
        return sum((p.interest for p in self.parts), ZERO)

    @property
    def principal(self) -> Decimal:
        return sum((p.principal for p in self.parts), ZERO)

    @property
    def prepaid(self) -> Decimal:
        """Principal paid beyond the instalments, which makes the schedule be regenerated."""
        return sum((p.principal for p in self.parts if p.number is None), ZERO)

    @property
    def total(self) -> Decimal:
        return self.late_fee + self.interest + self.principal


class Overpaid(ValueError):
    """The payment is more than everything the loan still owes."""


def _take(amount: Decimal, owed: Decimal) -> tuple[Decimal, Decimal]:
    paid = min(amount, owed)
    return paid, amount - paid


def allocate_schedule(amount: Decimal, dues: list[Due], on: date, *, prepay: bool, balance: Decimal) -> Allocation:
    """Split `amount` over the unpaid instalments of an EMI loan.

    A regular payment pays instalments in due order (each: late fee, interest, principal); more
    than the next instalment simply pays the following ones ahead. A prepayment first pays what is
    due by `on` and any instalment already started, then puts the rest on principal (`balance` is
    the principal still owed), after which the caller regenerates the untouched instalments.
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    ordered = sorted(dues, key=lambda d: d.number)
    if prepay:
        ordered = [d for d in ordered if d.due_date <= on or d.started]
    parts: list[Part] = []
    left = amount
    for due in ordered:
        if left == 0:
            break
        fee, left = _take(left, due.late_fee)
        interest, left = _take(left, due.interest)
        principal, left = _take(left, due.principal)
        if fee or interest or principal:
            parts.append(Part(due.number, fee, interest, principal))
    if left and prepay:
        scheduled = sum((p.principal for p in parts), ZERO)
        if left > balance - scheduled:
            raise Overpaid("the prepayment is more than the principal still owed")
        parts.append(Part(None, ZERO, ZERO, left))
        left = ZERO
    if left:
        raise Overpaid("the payment is more than the loan still owes")
    return Allocation(parts)


def accrued_interest(
    balance: Decimal,
    annual_rate: Decimal,
    interest_type: InterestType,
    compounding: Compounding,
    since: date,
    on: date,
    currency: str,
) -> Decimal:
    """Interest a loan without a schedule has accrued on `balance` from `since` to `on` (actual/365)."""
    days = (on - since).days
    if interest_type is InterestType.NONE or annual_rate == 0 or days <= 0 or balance <= 0:
        return ZERO
    rate = annual_rate / HUNDRED
    years = Decimal(days) / 365
    if interest_type is InterestType.SIMPLE:
        return quantize(balance * rate * years, currency)
    factor = (1 + rate / 12) ** (12 * years) if compounding is Compounding.MONTHLY else (1 + rate) ** years
    return quantize(balance * (factor - 1), currency)


def allocate_open(amount: Decimal, interest_owed: Decimal, balance: Decimal) -> Allocation:
    """A loan without a schedule: accrued interest first, then principal; never more than both."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    interest, left = _take(amount, interest_owed)
    if left > balance:
        raise Overpaid("the payment is more than the loan still owes")
    return Allocation([Part(None, ZERO, interest, left)])


def apply(due: Due, part: Part) -> Due:
    """What the instalment still owes after `part` of a payment."""
    return replace(
        due,
        late_fee=due.late_fee - part.late_fee,
        interest=due.interest - part.interest,
        principal=due.principal - part.principal,
    )
