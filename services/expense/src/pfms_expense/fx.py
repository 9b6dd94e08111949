"""The one rounding rule of a currency conversion, in Python and in SQL (pure, no I/O).

An expense is converted once, on its own: `amount * rate` rounded to the target currency's minor
unit with banker's rounding (ROUND_HALF_EVEN), so a sum of converted expenses is the sum of the
rounded rows a user can check one by one. The SQL form exists because summaries, budgets and the
conversion job work on many rows at once; a test holds it to the Python form on every tie.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal

from pfms_finance.currency import minor_units, quantize


def convert(amount: Decimal, rate: Decimal, currency: str) -> Decimal:
    """`amount * rate` in `currency`, rounded half-even to its minor unit."""
    return quantize(amount * rate, currency)


def converted_sql(
    amount: ColumnElement[Any] | Any, rate: ColumnElement[Any] | Any, currency: str
) -> ColumnElement[Any]:
    """`convert` as a SQL expression over positive amounts and rates.

    PostgreSQL's round() takes ties away from zero; a tie (a fractional part of exactly .5 in minor
    units) is instead sent to the even neighbour: 2·round(x/2) is even and within .5 of x.
    """
    factor = literal(Decimal(10) ** minor_units(currency))
    scaled = amount * rate * factor
    return (
        case((scaled - func.trunc(scaled) == Decimal("0.5"), 2 * func.round(scaled / 2)), else_=func.round(scaled))
        / factor
    )
