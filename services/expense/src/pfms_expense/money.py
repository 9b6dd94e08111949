"""Amount rules shared by every money field of the service (pure)."""

from decimal import Decimal

from pfms_finance.currency import minor_units

LIMIT = Decimal(10) ** 15


def check_amount(amount: Decimal, currency: str, *, allow_zero: bool = False) -> Decimal:
    """A finite amount, positive (or zero when allowed), below 10^15, with no more decimals than the
    currency has minor units (12.345 USD is refused, never silently rounded). ValueError otherwise."""
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError("must be greater than zero" if not allow_zero else "must not be negative")
    if amount >= LIMIT:
        raise ValueError("must be below 10^15")
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > minor_units(currency):
        raise ValueError(f"{currency} amounts have at most {minor_units(currency)} decimals")
    return amount
