"""ISO 4217 currencies and rounding to each currency's minor unit."""

from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from importlib import resources

from babel.numbers import get_currency_precision


@cache
def active_currencies() -> frozenset[str]:
    """Active ISO 4217 codes shipped in data/iso4217.tsv (source and exclusions named there)."""
    text = resources.files("pfms_finance").joinpath("data/iso4217.tsv").read_text(encoding="utf-8")
    return frozenset(line.split("\t", 1)[0] for line in text.splitlines() if line and not line.startswith("#"))


def normalise_currency(value: str) -> str:
    """Upper-cased code if it is an active ISO 4217 currency; ValueError otherwise (pydantic-friendly)."""
    code = value.strip().upper()
    if code not in active_currencies():
        raise ValueError("must be an active ISO 4217 currency code, e.g. USD")
    return code


@cache
def minor_units(currency: str) -> int:
    """Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD (CLDR data via Babel)."""
    return int(get_currency_precision(currency))


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of the currency: 0.01 for USD, 1 for JPY, 0.001 for KWD."""
    return Decimal(1).scaleb(-minor_units(currency))


def quantize(amount: Decimal, currency: str, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round to the currency's minor unit; banker's rounding unless the caller's rule says otherwise."""
    return amount.quantize(minor_unit(currency), rounding=rounding)
