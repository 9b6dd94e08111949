"""Pure rules of the income service (no I/O): income amounts, expected income and the cash-flow projection.

The projection (seed §7.1) starts from a balance the caller gives, spends the average daily burn of
the last 30 days, pays every confirmed outflow (recurring expenses; loan instalments later) on its
due date, receives every expected income on its date, and reports where the balance drops below a
threshold. Money is rounded in exactly two places, both to the currency's minor unit with banker's
rounding: each scheduled occurrence (its inflated amount), and the burn, which is rounded
cumulatively (day k's burn is round(total·k/window) - round(total·(k-1)/window)) so that rounding
never accumulates over the horizon. Every other figure is an exact sum of those.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from functools import cache

from pfms_finance.currency import minor_units, quantize
from pfms_finance.inflation import completed_years, inflated_amount
from pfms_finance.recurrence import Frequency, add_months, next_occurrence, occurrences
from pfms_platform.errors import Invalid

ZERO = Decimal(0)
CONFIDENCE_STEP = Decimal("0.01")
MAX_HORIZON_DAYS = 365
EARLY_PAYMENT_DAYS = 7
"""An income recorded up to this many days before an expected occurrence counts as that occurrence."""


class IncomeType(StrEnum):
    SALARY = "salary"
    FREELANCE = "freelance"
    BUSINESS = "business"
    BONUS = "bonus"
    INVESTMENT = "investment"
    OTHER = "other"


class SourceFrequency(StrEnum):
    """How often a source pays: once, or one of the shared recurrence frequencies."""

    ONE_TIME = "one_time"
    DAILY = Frequency.DAILY.value
    WEEKLY = Frequency.WEEKLY.value
    BIWEEKLY = Frequency.BIWEEKLY.value
    MONTHLY = Frequency.MONTHLY.value
    QUARTERLY = Frequency.QUARTERLY.value
    YEARLY = Frequency.YEARLY.value

    @property
    def recurrence(self) -> Frequency | None:
        return None if self is SourceFrequency.ONE_TIME else Frequency(self.value)


class OutflowKind(StrEnum):
    """Producers of confirmed flows. A loan's instalments are an outflow when the user borrowed and
    expected income when the user lent (`loan_repayment`)."""

    RECURRING_EXPENSE = "recurring_expense"
    LOAN_INSTALMENT = "loan_instalment"
    LOAN_REPAYMENT = "loan_repayment"


# --- income amounts ---------------------------------------------------------------------------


def check_minor_units(currency: str, **amounts: Decimal | None) -> None:
    """Refuse an amount with more decimals than its currency has (cents for USD, none for JPY)."""
    places = minor_units(currency)
    for name, amount in amounts.items():
        if amount is not None and amount != amount.quantize(Decimal(1).scaleb(-places)):
            raise Invalid(f"{currency} amounts have at most {places} decimal places", field=name)


def net_amount(amount: Decimal, tax_deducted: Decimal, stated_net: Decimal | None = None) -> Decimal:
    """`amount - tax_deducted`; a net amount the caller states must be exactly that."""
    if tax_deducted > amount:
        raise Invalid("tax_deducted cannot exceed amount", field="tax_deducted")
    net = amount - tax_deducted
    if stated_net is not None and stated_net != net:
        raise Invalid(f"net_amount must equal amount - tax_deducted ({net})", field="net_amount")
    return net


def check_received_date(received: date, today: date) -> None:
    """Income is recorded once received; a day of slack covers time zones ahead of UTC."""
    if received > today + timedelta(days=1):
        raise Invalid("date cannot be in the future; record expected income as a source", field="date")


def check_schedule(
    frequency: SourceFrequency | None, amount: Decimal | None, start: date | None, end: date | None
) -> None:
    """A source with a frequency needs an amount and a start date; an end never precedes the start."""
    if frequency is not None:
        if amount is None:
            raise Invalid("amount is required when a frequency is set", field="amount")
        if start is None:
            raise Invalid("start_date is required when a frequency is set", field="start_date")
    if end is not None and (start is None or end < start):
        raise Invalid("end_date must be on or after start_date", field="end_date")


def next_expected(
    frequency: SourceFrequency | None, start: date | None, end: date | None, active: bool, today: date
) -> date | None:
    """The source's next payment on or after `today`, if it expects one."""
    if not active or frequency is None or start is None:
        return None
    recurrence = frequency.recurrence
    if recurrence is None:
        return start if start >= today else None
    day = next_occurrence(start, recurrence, today - timedelta(days=1))
    return day if end is None or day <= end else None


# --- projection ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A flow on known dates: expected income from a source, or a confirmed outflow.

    `frequency` None means a single payment on `start`. Occurrences before `not_before` are already
    booked (an outflow's next due date). `last_received` is the latest income recorded against the
    source: it settles an occurrence it precedes by at most the early-payment grace.
    """

    amount: Decimal
    currency: str
    start: date
    frequency: Frequency | None = None
    end: date | None = None
    not_before: date | None = None
    inflation_rate: Decimal = ZERO
    label: str = ""
    last_received: date | None = None


def early_payment_grace(frequency: Frequency | None) -> int | None:
    """Days before an occurrence that a recorded income still counts as it (None: any time, for one-offs)."""
    if frequency is None:
        return None
    step = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.BIWEEKLY: 14}.get(frequency)
    return EARLY_PAYMENT_DAYS if step is None else min(EARLY_PAYMENT_DAYS, step // 2)


def settled(schedule: Schedule, day: date) -> bool:
    received = schedule.last_received
    if received is None:
        return False
    grace = early_payment_grace(schedule.frequency)
    return grace is None or received >= day - timedelta(days=grace)


def next_anniversary(start: date, day: date) -> date:
    """The first anniversary of `start` after `day`, when an inflating amount steps up next."""
    return add_months(start, 12 * (completed_years(start, day) + 1))


def expand(schedule: Schedule, first: date, last: date) -> Iterable[tuple[date, Decimal]]:
    """Occurrences within [first, last] with their (inflated, rounded) amounts."""
    if schedule.not_before is not None:
        first = max(first, schedule.not_before)
    if schedule.frequency is None:
        days: Iterable[date] = [schedule.start] if first <= schedule.start <= last else []
    else:
        days = occurrences(schedule.start, schedule.frequency, first=first, last=last, end=schedule.end)
    # The amount only changes on an anniversary, so it is computed once per year of the horizon.
    amount, changes_on = None, first
    for day in days:
        if amount is None or day >= changes_on:
            amount = inflated_amount(schedule.amount, schedule.inflation_rate, schedule.start, day, schedule.currency)
            changes_on = next_anniversary(schedule.start, day) if schedule.inflation_rate else last + timedelta(days=1)
        yield day, amount


def expected_incomes(schedule: Schedule, first: date, last: date) -> Iterable[tuple[date, Decimal]]:
    return ((day, amount) for day, amount in expand(schedule, first, last) if not settled(schedule, day))


def cumulative_burn(total: Decimal, window_days: int, day: int, currency: str) -> Decimal:
    """Burn through day `day` of the horizon: the window's total spread evenly, rounded once."""
    return quantize(total * day / window_days, currency)


@cache
def confidence(day: int, half_life_days: int) -> Decimal:
    """Trust in a projected day: 1 today, halving every `half_life_days` as the unknowns pile up."""
    value = Decimal(repr(math.pow(0.5, day / half_life_days)))
    return value.quantize(CONFIDENCE_STEP, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class ProjectionInput:
    today: date
    days: int
    currency: str
    starting_balance: Decimal
    threshold: Decimal
    burn_totals: Mapping[str, Decimal] = field(default_factory=dict)
    """Per currency: expenses of the burn window that no schedule booked."""
    incomes: Sequence[Schedule] = ()
    outflows: Sequence[Schedule] = ()
    burn_window_days: int = 30
    half_life_days: int = 90


@dataclass(frozen=True, slots=True)
class Day:
    date: date
    expected_income: Decimal
    burn: Decimal
    scheduled_outflows: Decimal
    projected_balance: Decimal
    confidence: Decimal
    below_threshold: bool
    notes: tuple[str, ...] = ()

    @property
    def expected_expenses(self) -> Decimal:
        return self.burn + self.scheduled_outflows


@dataclass(frozen=True)
class ForeignTotals:
    """Flows in a currency other than the projection's: reported beside it, never converted (no FX yet)."""

    currency: str
    daily_burn: Decimal
    expected_income: Decimal
    expected_expenses: Decimal


@dataclass(frozen=True)
class Projection:
    currency: str
    today: date
    starting_balance: Decimal
    threshold: Decimal
    daily_burn: Decimal
    days: tuple[Day, ...]
    warning_dates: tuple[date, ...]
    other_currencies: tuple[ForeignTotals, ...]

    @property
    def total_income(self) -> Decimal:
        return sum((d.expected_income for d in self.days), quantize(ZERO, self.currency))

    @property
    def total_expenses(self) -> Decimal:
        return sum((d.expected_expenses for d in self.days), quantize(ZERO, self.currency))

    @property
    def ending_balance(self) -> Decimal:
        return self.days[-1].projected_balance if self.days else self.starting_balance

    @property
    def lowest(self) -> Day | None:
        return min(self.days, key=lambda d: (d.projected_balance, d.date), default=None)


@dataclass(frozen=True)
class Flows:
    """Occurrences in the projection's currency summed per day, with their notes ("+3000.00 Salary")."""

    totals: dict[date, Decimal]
    notes: dict[date, list[str]]


def _by_day(
    occurrences_of: Iterable[tuple[Schedule, Iterable[tuple[date, Decimal]]]], currency: str, sign: str
) -> tuple[Flows, dict[str, Decimal]]:
    """The occurrences in the projection's currency by day, and the totals of every other currency.

    Summed here once per occurrence, so the daily loop only looks its day up.
    """
    zero = quantize(ZERO, currency)  # every day's total carries the currency's minor unit
    own = Flows({}, defaultdict(list))
    foreign: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for schedule, dated in occurrences_of:
        if schedule.currency == currency:
            label = f" {schedule.label}".rstrip()
            for day, amount in dated:
                own.totals[day] = own.totals.get(day, zero) + amount
                own.notes[day].append(f"{sign}{amount!s}{label}")
        else:
            foreign[schedule.currency] += sum((amount for _, amount in dated), ZERO)
    return own, foreign


def project(inp: ProjectionInput) -> Projection:
    """The daily series for days 1..N after `today` (the starting balance is the balance at the end of today)."""
    if not 1 <= inp.days <= MAX_HORIZON_DAYS:
        raise Invalid(f"days must be between 1 and {MAX_HORIZON_DAYS}", field="days")
    first, last = inp.today + timedelta(days=1), inp.today + timedelta(days=inp.days)
    incomes_of = ((s, expected_incomes(s, first, last)) for s in inp.incomes)
    outflows_of = ((s, expand(s, first, last)) for s in inp.outflows)
    income_days, foreign_income = _by_day(incomes_of, inp.currency, "+")
    outflow_days, foreign_outflow = _by_day(outflows_of, inp.currency, "-")

    code, window = inp.currency, inp.burn_window_days
    zero = quantize(ZERO, code)  # sums start here, so every figure carries the currency's minor unit
    burn_total = inp.burn_totals.get(code, ZERO)
    balance = inp.starting_balance
    below = balance < inp.threshold
    series: list[Day] = []
    warnings: list[date] = []
    burned = zero
    for k in range(1, inp.days + 1):
        day = inp.today + timedelta(days=k)
        through = cumulative_burn(burn_total, window, k, code)
        burn, burned = through - burned, through
        income = income_days.totals.get(day, zero)
        outflow = outflow_days.totals.get(day, zero)
        balance = balance + income - burn - outflow
        now_below = balance < inp.threshold
        if now_below and (not below or k == 1):
            warnings.append(day)
        below = now_below
        notes = tuple(income_days.notes.get(day, ())) + tuple(outflow_days.notes.get(day, ()))
        series.append(Day(day, income, burn, outflow, balance, confidence(k, inp.half_life_days), now_below, notes))

    currencies = sorted((set(inp.burn_totals) | set(foreign_income) | set(foreign_outflow)) - {code})
    others = tuple(
        ForeignTotals(
            currency=other,
            daily_burn=cumulative_burn(inp.burn_totals.get(other, ZERO), window, 1, other),
            expected_income=quantize(foreign_income.get(other, ZERO), other),
            expected_expenses=cumulative_burn(inp.burn_totals.get(other, ZERO), window, inp.days, other)
            + quantize(foreign_outflow.get(other, ZERO), other),
        )
        for other in currencies
    )
    return Projection(
        currency=code,
        today=inp.today,
        starting_balance=inp.starting_balance,
        threshold=inp.threshold,
        daily_burn=cumulative_burn(burn_total, window, 1, code),
        days=tuple(series),
        warning_dates=tuple(warnings),
        other_currencies=others,
    )
