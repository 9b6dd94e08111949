"""EMI schedules: reducing-balance annuities, flat-rate and interest-free instalments, and their regeneration.

Pure functions over Decimal. Each instalment's interest is rounded to the currency's minor unit
(ROUND_HALF_EVEN), the EMI too, and the last instalment takes whatever principal is left, so the
principal parts always sum exactly to the amount financed.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext
from enum import StrEnum
from typing import NamedTuple

from pfms_finance.currency import minor_unit, quantize

ZERO = Decimal(0)
HUNDRED = Decimal(100)


class EmiFrequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def per_year(self) -> int:
        return {"weekly": 52, "biweekly": 26, "monthly": 12, "quarterly": 4}[self.value]


class InterestType(StrEnum):
    NONE = "none"
    SIMPLE = "simple"
    COMPOUND = "compound"


class Compounding(StrEnum):
    """How often compound interest is added to the balance (seed column `interest_calculation`)."""

    ANNUAL = "annual"
    MONTHLY = "monthly"


class Method(StrEnum):
    """Reducing balance (interest on what is still owed) or flat (interest on the original principal)."""

    REDUCING = "reducing"
    FLAT = "flat"


class PrepaymentMode(StrEnum):
    """After a prepayment: keep the instalment and finish sooner, or keep the term and pay less each time."""

    REDUCE_TERM = "reduce_term"
    REDUCE_EMI = "reduce_emi"


class Instalment(NamedTuple):
    """One row of a schedule (a named tuple: a 360-row schedule builds fast)."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    balance_after: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


@dataclass(frozen=True, slots=True)
class Terms:
    """What a schedule is computed from."""

    principal: Decimal
    annual_rate: Decimal
    """Percent per year, e.g. Decimal("12") for 12 %."""
    interest_type: InterestType
    compounding: Compounding
    method: Method
    frequency: EmiFrequency
    instalments: int
    start_date: date
    currency: str
    emi_day: int | None = None


def periodic_rate(
    annual_rate: Decimal, interest_type: InterestType, compounding: Compounding, per_year: int
) -> Decimal:
    """Interest rate per instalment period as a fraction.

    Simple interest uses the nominal rate split evenly (12 %/yr monthly → 1 %); compound interest
    converts the rate compounded `compounding` into the rate of one period (12 % compounded
    annually, paid monthly → 1.12^(1/12) - 1 ≈ 0.949 %).
    """
    if interest_type is InterestType.NONE or annual_rate == 0:
        return ZERO
    nominal = annual_rate / HUNDRED
    if interest_type is InterestType.SIMPLE:
        return nominal / per_year
    with localcontext() as ctx:
        ctx.prec = 34
        if compounding is Compounding.MONTHLY:
            if per_year == 12:
                return nominal / 12
            return (1 + nominal / 12) ** (Decimal(12) / per_year) - 1
        return (1 + nominal) ** (Decimal(1) / per_year) - 1


def annuity_payment(principal: Decimal, rate: Decimal, periods: int, currency: str) -> Decimal:
    """The standard EMI, P*r*(1+r)^n / ((1+r)^n - 1), rounded to the currency's minor unit."""
    if periods < 1:
        raise ValueError("periods must be >= 1")
    if rate == 0:
        return quantize(principal / periods, currency)
    with localcontext() as ctx:
        ctx.prec = 34
        growth = (1 + rate) ** periods
        return quantize(principal * rate * growth / (growth - 1), currency)


def due_date(start: date, frequency: EmiFrequency, number: int, emi_day: int | None = None) -> date:
    """Due date of instalment `number` (1-based): one period after the start, then every period.

    Monthly and quarterly instalments fall on `emi_day` (clamped to the month's length) when given,
    otherwise on the start date's day.
    """
    if frequency is EmiFrequency.WEEKLY:
        return start + timedelta(weeks=number)
    if frequency is EmiFrequency.BIWEEKLY:
        return start + timedelta(weeks=2 * number)
    months = number * (3 if frequency is EmiFrequency.QUARTERLY else 1)
    total = start.year * 12 + start.month - 1 + months
    year, month = divmod(total, 12)
    day = emi_day or start.day
    if day > 28:
        day = min(day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def _dates(terms: Terms, first_number: int, count: int) -> list[date]:
    return [
        due_date(terms.start_date, terms.frequency, n, terms.emi_day) for n in range(first_number, first_number + count)
    ]


def _reducing(
    balance: Decimal, rate: Decimal, emi: Decimal, dates: list[date], first_number: int, currency: str
) -> list[Instalment]:
    """Fixed `emi` per period until the balance is gone; the last instalment pays off the rest exactly."""
    unit = minor_unit(currency)
    last = len(dates) - 1
    rows: list[Instalment] = []
    for index, day in enumerate(dates):
        interest = (balance * rate).quantize(unit, rounding=ROUND_HALF_EVEN)
        if index == last:
            principal = balance
        else:
            principal = emi - interest
            if principal < 0:
                principal = ZERO
            elif principal > balance:
                principal = balance
        balance -= principal
        rows.append(Instalment(first_number + index, day, principal, interest, balance))
        if balance == 0:
            break
    return rows


def _even(
    balance: Decimal, interests: list[Decimal], dates: list[date], first_number: int, currency: str
) -> list[Instalment]:
    """Principal split evenly (rounded down to the minor unit), the last instalment absorbing the remainder."""
    count = len(dates)
    part = quantize(balance / count, currency, rounding="ROUND_DOWN")
    rows: list[Instalment] = []
    for index, day in enumerate(dates):
        principal = balance if index == count - 1 else part
        balance -= principal
        rows.append(Instalment(first_number + index, day, principal, interests[index], balance))
    return rows


def flat_interest(terms: Terms) -> list[Decimal]:
    """Flat rate: interest on the original principal for the whole term, spread evenly, last absorbing rounding."""
    years = Decimal(terms.instalments) / terms.frequency.per_year
    total = quantize(terms.principal * terms.annual_rate / HUNDRED * years, terms.currency)
    if terms.interest_type is InterestType.NONE:
        total = ZERO
    part = quantize(total / terms.instalments, terms.currency, rounding="ROUND_DOWN")
    return [part] * (terms.instalments - 1) + [total - part * (terms.instalments - 1)]


def schedule(terms: Terms) -> list[Instalment]:
    """The full schedule of a new loan."""
    if terms.instalments < 1:
        raise ValueError("instalments must be >= 1")
    if terms.principal <= 0:
        raise ValueError("principal must be positive")
    dates = _dates(terms, 1, terms.instalments)
    if terms.method is Method.FLAT:
        return _even(terms.principal, flat_interest(terms), dates, 1, terms.currency)
    rate = periodic_rate(terms.annual_rate, terms.interest_type, terms.compounding, terms.frequency.per_year)
    emi = annuity_payment(terms.principal, rate, terms.instalments, terms.currency)
    return _reducing(terms.principal, rate, emi, dates, 1, terms.currency)


def regenerate(
    terms: Terms,
    balance: Decimal,
    first_number: int,
    remaining: list[Instalment],
    mode: PrepaymentMode,
) -> list[Instalment]:
    """The unpaid instalments again after a prepayment left `balance` of principal owed.

    `remaining` are the instalments being replaced (numbers from `first_number`). Reducing-balance
    loans get a new annuity: over the same count (lower EMI) or with the old EMI (fewer
    instalments). Flat and interest-free loans keep each remaining instalment's interest; their
    principal is spread over the same count, or paid at the old pace over fewer instalments (the
    interest of the dropped instalments is not charged).
    """
    if balance < 0:
        raise ValueError("balance must be >= 0")
    if balance == 0 or not remaining:
        return []
    count = len(remaining)
    if terms.method is Method.REDUCING:
        rate = periodic_rate(terms.annual_rate, terms.interest_type, terms.compounding, terms.frequency.per_year)
        if mode is PrepaymentMode.REDUCE_EMI:
            emi = annuity_payment(balance, rate, count, terms.currency)
        else:
            emi = max(remaining[0].total, quantize(balance * rate, terms.currency) + minor_unit(terms.currency))
        return _reducing(balance, rate, emi, _dates(terms, first_number, count), first_number, terms.currency)
    if mode is PrepaymentMode.REDUCE_TERM:
        pace = max(remaining[0].principal, minor_unit(terms.currency))
        with localcontext() as ctx:
            ctx.rounding = ROUND_CEILING
            count = min(count, int((balance / pace).to_integral_value()))
    return _even(
        balance,
        [r.interest for r in remaining[:count]],
        _dates(terms, first_number, count),
        first_number,
        terms.currency,
    )
