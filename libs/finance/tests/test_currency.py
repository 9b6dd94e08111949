from decimal import Decimal

import pytest

from pfms_finance.currency import active_currencies, minor_units, normalise_currency, quantize


def test_active_codes_and_normalisation() -> None:
    assert {"USD", "EUR", "INR", "JPY"} <= active_currencies()
    assert normalise_currency(" usd ") == "USD"
    for bad in ("XAU", "XXX", "US", "EURO"):
        with pytest.raises(ValueError):
            normalise_currency(bad)


def test_minor_units_and_bankers_rounding() -> None:
    assert (minor_units("USD"), minor_units("JPY"), minor_units("KWD")) == (2, 0, 3)
    assert quantize(Decimal("2.345"), "USD") == Decimal("2.34")
    assert quantize(Decimal("2.355"), "USD") == Decimal("2.36")
    assert quantize(Decimal("1234.5"), "JPY") == Decimal("1234")
    assert quantize(Decimal("1.2345"), "KWD") == Decimal("1.234")
