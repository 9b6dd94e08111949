"""The tax calculation (seed §7.4) as a pure function: no I/O, every figure explained.

Order of work: income for the year → capital gains netted short/long → deductions (above the line,
then the greater of standard and itemized) → taxable income → progressive brackets on ordinary
income → capital gains stacked on top of it on their own schedule → credits → tax owed.

Money: every input arrives already in the regime's currency and rounded to its minor unit; each
bracket's tax is rounded half-even to the minor unit, and the totals are sums of those rounded
lines, so the breakdown adds up to the answer exactly.
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from functools import partial

from pfms_finance.currency import quantize
from pfms_finance.recurrence import add_months
from pfms_tax.regimes import Bracket, Regime

ZERO = Decimal(0)
RATE = Decimal("0.0001")


class FilingStatus(StrEnum):
    SINGLE = "single"
    MARRIED_JOINT = "married_joint"
    MARRIED_SEPARATE = "married_separate"
    HEAD_OF_HOUSEHOLD = "head_of_household"
    QUALIFYING_SURVIVING_SPOUSE = "qualifying_surviving_spouse"


class DeductionStatus(StrEnum):
    CLAIMED = "claimed"
    APPROVED = "approved"
    REJECTED = "rejected"


COUNTED_STATUSES = (DeductionStatus.CLAIMED.value, DeductionStatus.APPROVED.value)
"""A rejected deduction stays on record but no longer lowers the tax."""


@dataclass(frozen=True)
class Income:
    amount: Decimal
    """Gross, in the regime's currency."""
    tax_withheld: Decimal
    source_type: str
    rows: int = 1
    """How many income records this amount sums (the service hands over daily totals)."""


@dataclass(frozen=True)
class Gain:
    """One lot disposed of."""

    gain: Decimal
    acquisition_date: date
    disposal_date: date


@dataclass(frozen=True)
class GainTotal:
    """Gains of one holding class (the service has the database sum them; see `classify`)."""

    gain: Decimal
    long_term: bool
    rows: int = 1


@dataclass(frozen=True)
class Deduction:
    category: str
    amount: Decimal


@dataclass(frozen=True)
class Line:
    """One bracket's share: `taxed` of the income between `lower` and `upper` at `rate`."""

    kind: str
    rate: Decimal
    lower: Decimal
    upper: Decimal | None
    taxed: Decimal
    tax: Decimal


@dataclass(frozen=True)
class CreditLine:
    name: str
    dependents: int
    base: Decimal
    phase_out: Decimal
    amount: Decimal
    allowed: Decimal


@dataclass(frozen=True)
class CategoryTotal:
    category: str
    kind: str
    claimed: Decimal
    allowed: Decimal


@dataclass
class Calculation:
    currency: str
    gross_income: Decimal
    income_by_source: dict[str, Decimal]
    income_rows: int
    tax_withheld: Decimal
    short_term_gains: Decimal
    long_term_gains: Decimal
    gain_rows: int
    gains_in_ordinary_income: Decimal
    gains_at_capital_gains_rates: Decimal
    gains_exempt_amount: Decimal
    capital_loss_deducted: Decimal
    capital_loss_carryover: Decimal
    total_income: Decimal
    above_the_line_deductions: Decimal
    adjusted_gross_income: Decimal
    standard_deduction: Decimal
    itemized_deductions: Decimal
    deduction_applied: str
    total_deductions: Decimal
    deductions_by_category: list[CategoryTotal]
    taxable_income: Decimal
    ordinary_taxable_income: Decimal
    capital_gains_taxable: Decimal
    brackets: list[Line]
    income_tax: Decimal
    capital_gains_tax: Decimal
    tax_before_credits: Decimal
    credits: list[CreditLine]
    total_credits: Decimal
    tax_owed: Decimal
    balance_due: Decimal
    effective_rate: Decimal
    marginal_rate: Decimal
    capital_gains_marginal_rate: Decimal
    notes: list[str] = field(default_factory=list)


def is_long_term(gain: Gain, after_months: int) -> bool:
    """Held more than `after_months` (US IRC §1222: sold after the first anniversary → long term)."""
    return gain.disposal_date > add_months(gain.acquisition_date, after_months)


def progressive(brackets: Sequence[Bracket], start: Decimal, amount: Decimal, kind: str, currency: str) -> list[Line]:
    """Tax `amount` stacked on top of `start` of the same schedule, one line per bracket it touches."""
    lines: list[Line] = []
    top = start + amount
    for i, bracket in enumerate(brackets):
        upper = brackets[i + 1].lower if i + 1 < len(brackets) else None
        low = max(bracket.lower, start)
        high = top if upper is None else min(upper, top)
        if high > low:
            taxed = quantize(high - low, currency)
            tax = quantize(taxed * bracket.rate, currency)
            lines.append(Line(kind, bracket.rate, bracket.lower, upper, taxed, tax))
    return lines


def rate_at(brackets: Sequence[Bracket], point: Decimal) -> Decimal:
    """The rate the next unit above `point` pays (on an edge, the upper bracket's)."""
    rate = brackets[0].rate
    for bracket in brackets:
        if bracket.lower <= point:
            rate = bracket.rate
    return rate


def classify(gains: Iterable[Gain], after_months: int) -> list[GainTotal]:
    """Lots as totals per holding class: the rule `store.gain_totals` applies in SQL."""
    return [GainTotal(g.gain, is_long_term(g, after_months)) for g in gains]


def net_gains(gains: Iterable[GainTotal]) -> tuple[Decimal, Decimal, int]:
    short, long, rows = ZERO, ZERO, 0
    for gain in gains:
        rows += gain.rows
        if gain.long_term:
            long += gain.gain
        else:
            short += gain.gain
    return short, long, rows


def deduction_totals(regime: Regime, filing_status: str, deductions: Iterable[Deduction]) -> list[CategoryTotal]:
    """Claimed per category, capped where the law caps it; categories the regime does not know count 0."""
    claimed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for deduction in deductions:
        claimed[deduction.category] += deduction.amount
    caps = regime.schedule(filing_status).deduction_caps
    totals = []
    for category, amount in sorted(claimed.items()):
        kind = regime.deduction_categories.get(category, "not_applicable")
        allowed = ZERO if kind == "not_applicable" else min(amount, caps.get(category, amount))
        currency = regime.currency
        totals.append(CategoryTotal(category, kind, quantize(amount, currency), quantize(max(allowed, ZERO), currency)))
    return totals


def credit_lines(regime: Regime, filing_status: str, dependents: int, agi: Decimal, tax: Decimal) -> list[CreditLine]:
    """Per-dependent credits, phased out by steps of income above the start, limited to the tax left."""
    start = regime.schedule(filing_status).credit_phase_out_start
    lines = []
    left = tax
    for credit in regime.credits:
        base = credit.per_dependent * dependents
        steps = math.ceil((agi - start) / credit.phase_out_step) if start is not None and agi > start else 0
        phase_out = min(base, credit.phase_out_per_step * steps)
        amount = base - phase_out
        allowed = min(amount, left)
        left -= allowed
        money = (base, phase_out, amount, allowed)
        lines.append(CreditLine(credit.name, dependents, *(quantize(v, regime.currency) for v in money)))
    return lines


def calculate(
    regime: Regime,
    filing_status: str,
    dependents: int,
    incomes: Iterable[Income],
    gains: Iterable[GainTotal],
    deductions: Iterable[Deduction],
) -> Calculation:
    currency = regime.currency
    schedule = regime.schedule(filing_status)
    notes: list[str] = []

    by_source: dict[str, Decimal] = defaultdict(lambda: ZERO)
    gross, withheld, income_rows = ZERO, ZERO, 0
    for income in incomes:
        gross += income.amount
        withheld += income.tax_withheld
        by_source[income.source_type] += income.amount
        income_rows += income.rows

    short, long, gain_rows = net_gains(gains)
    net = short + long
    categories = deduction_totals(regime, filing_status, deductions)
    above = sum((c.allowed for c in categories if c.kind == "above_the_line"), ZERO)
    itemized = sum((c.allowed for c in categories if c.kind == "itemized"), ZERO)

    exempt_used, loss_deducted, carryover = ZERO, ZERO, ZERO
    if regime.gains_separate_from_income:
        # UK: gains are taxed apart from income (after the annual exempt amount); losses never reduce income.
        ordinary_gains = ZERO
        exempt_used = min(regime.gains_exempt_amount, max(net, ZERO))
        preferential = max(net, ZERO) - exempt_used
        carryover = max(-net, ZERO)
        agi = gross - above
    else:
        # US: short and long are netted against each other; the net long-term gain gets the lower rates.
        if net < 0:
            loss_deducted = min(-net, schedule.capital_loss_limit)
            carryover = -net - loss_deducted
            ordinary_gains, preferential = -loss_deducted, ZERO
        else:
            preferential = max(ZERO, min(long, net))
            ordinary_gains = net - preferential
        agi = gross + ordinary_gains + preferential - above
    if carryover:
        notes.append("capital_loss_carryover is reported, not carried into the next year")

    standard = schedule.standard_deduction
    if regime.taper_start is not None and agi > regime.taper_start:
        standard = max(ZERO, quantize(standard - (agi - regime.taper_start) * regime.taper_rate, currency))
    applied = "itemized" if itemized > standard else "standard"
    deduction = max(standard, itemized)

    if regime.gains_separate_from_income:
        ordinary_taxable = max(ZERO, agi - deduction)
        gains_taxable = preferential
    else:
        taxable_all = max(ZERO, agi - deduction)
        gains_taxable = min(preferential, taxable_all)  # deductions use up ordinary income first
        ordinary_taxable = taxable_all - gains_taxable

    lines = progressive(schedule.income, ZERO, ordinary_taxable, "income", currency)
    gain_lines = progressive(schedule.capital_gains_long, ordinary_taxable, gains_taxable, "capital_gains", currency)
    income_tax = sum((line.tax for line in lines), ZERO)
    gains_tax = sum((line.tax for line in gain_lines), ZERO)
    before_credits = income_tax + gains_tax
    credits = credit_lines(regime, filing_status, dependents, agi, before_credits)
    total_credits = sum((c.allowed for c in credits), ZERO)
    owed = before_credits - total_credits

    total_income = gross + max(short, ZERO) + max(long, ZERO)
    effective = (owed / total_income).quantize(RATE, ROUND_HALF_EVEN) if total_income > 0 else ZERO
    marginal = rate_at(schedule.income, ordinary_taxable) if agi >= deduction else ZERO
    gains_marginal = rate_at(schedule.capital_gains_long, ordinary_taxable + gains_taxable)

    q = partial(quantize, currency=currency)
    return Calculation(
        currency=currency,
        gross_income=q(gross),
        income_by_source={k: q(v) for k, v in sorted(by_source.items())},
        income_rows=income_rows,
        tax_withheld=q(withheld),
        short_term_gains=q(short),
        long_term_gains=q(long),
        gain_rows=gain_rows,
        gains_in_ordinary_income=q(ordinary_gains),
        gains_at_capital_gains_rates=q(preferential),
        gains_exempt_amount=q(exempt_used),
        capital_loss_deducted=q(loss_deducted),
        capital_loss_carryover=q(carryover),
        total_income=q(total_income),
        above_the_line_deductions=q(above),
        adjusted_gross_income=q(agi),
        standard_deduction=q(standard),
        itemized_deductions=q(itemized),
        deduction_applied=applied,
        total_deductions=q(above + deduction),
        deductions_by_category=categories,
        taxable_income=q(ordinary_taxable + gains_taxable),
        ordinary_taxable_income=q(ordinary_taxable),
        capital_gains_taxable=q(gains_taxable),
        brackets=lines + gain_lines,
        income_tax=q(income_tax),
        capital_gains_tax=q(gains_tax),
        tax_before_credits=q(before_credits),
        credits=credits,
        total_credits=q(total_credits),
        tax_owed=q(owed),
        balance_due=q(owed - withheld),
        effective_rate=effective,
        marginal_rate=marginal,
        capital_gains_marginal_rate=gains_marginal,
        notes=notes,
    )
