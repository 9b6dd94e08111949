"""Yearly inflation of a recurring amount, stepped at each anniversary of the schedule's start.

The expense service materialises occurrences with it and the income service projects them with it,
so a projected rent and the rent that is later booked are the same amount to the minor unit.
"""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from pfms_finance.currency import quantize
from pfms_finance.recurrence import add_months


def completed_years(start: date, on: date) -> int:
    """Anniversaries of `start` reached by `on` (29 Feb anniversaries fall on 28 Feb in common years)."""
    if on < start:
        return 0
    years = on.year - start.year
    return years if add_months(start, 12 * years) <= on else years - 1


def inflated_amount(
    amount: Decimal, yearly_rate: Decimal, start: date, on: date, currency: str, rounding: str = ROUND_HALF_EVEN
) -> Decimal:
    """`amount` grown by `yearly_rate` (0.03 = 3 %) compounded once per completed year, rounded once to the currency."""
    if not yearly_rate:
        return quantize(amount, currency, rounding)
    return quantize(amount * (1 + yearly_rate) ** completed_years(start, on), currency, rounding)
