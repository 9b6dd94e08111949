"""Pure rules of market data: symbols, asset classes, cache lifetimes and price arithmetic (no I/O)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum


class AssetClass(StrEnum):
    stock = "stock"
    crypto = "crypto"
    forex = "forex"


class Interval(StrEnum):
    day = "1d"
    week = "1w"
    month = "1m"


_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-^]{0,19}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")

PERCENT = Decimal("0.0001")


def normalise_symbol(raw: str) -> str:
    """Upper-case and check a ticker such as AAPL, BRK.B or BTC; raises ValueError otherwise."""
    symbol = raw.strip().upper()
    if not _SYMBOL.match(symbol):
        raise ValueError("symbol must be 1-20 letters, digits, '.', '-' or '^'")
    return symbol


def parse_pair(raw: str) -> tuple[str, str]:
    """`EUR-USD` (or `EURUSD`, `eur/usd`) → ("EUR", "USD"); raises ValueError for anything else."""
    text = raw.strip().upper().replace("/", "-")
    base, _, quote = text.partition("-") if "-" in text else (text[:3], "", text[3:])
    if not (_CURRENCY.match(base) and _CURRENCY.match(quote)) or base == quote:
        raise ValueError("pair must be two different ISO 4217 codes such as EUR-USD")
    return base, quote


def pair_symbol(base: str, quote: str) -> str:
    return f"{base}-{quote}"


@dataclass(frozen=True)
class Quote:
    """A price as a provider reported it; `as_of` is when the market set it, not when we fetched it."""

    symbol: str
    asset_class: AssetClass
    price: Decimal
    currency: str
    as_of: datetime
    source: str


@dataclass(frozen=True)
class Close:
    day: date
    close: Decimal
    currency: str


@dataclass(frozen=True)
class Match:
    symbol: str
    name: str
    asset_class: AssetClass


def plain(value: Decimal) -> Decimal:
    """Drop the trailing zeros a NUMERIC(28,10) column adds (172.2800000000 → 172.28), never as 1E+2."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def age_seconds(as_of: datetime, now: datetime) -> int:
    """Whole seconds since `as_of`; never negative (a provider clock a little ahead is not the future)."""
    return max(0, int((now - as_of).total_seconds()))


def change_percent(previous: Decimal | None, current: Decimal) -> Decimal | None:
    """Move from `previous` to `current` in percent, 4 decimals, banker's rounding; None without a base."""
    if previous is None or previous == 0:
        return None
    return ((current - previous) / previous * 100).quantize(PERCENT, rounding=ROUND_HALF_EVEN)


def cross_rate(base_per_eur: Decimal, quote_per_eur: Decimal) -> Decimal:
    """Units of quote for one base, from two per-EUR reference rates (ECB publishes per EUR)."""
    if base_per_eur == 1:
        return quote_per_eur
    return (quote_per_eur / base_per_eur).quantize(Decimal("0.0000000001"), rounding=ROUND_HALF_EVEN)


def sample(closes: list[Close], interval: Interval) -> list[Close]:
    """Keep the last close of each week or month (closes sorted by day); days are kept as they are."""
    if interval is Interval.day:
        return closes
    last: dict[tuple[int, int], Close] = {}
    for close in closes:
        key = close.day.isocalendar()[:2] if interval is Interval.week else (close.day.year, close.day.month)
        last[key] = close
    return list(last.values())


def last_on_or_before(closes: list[Close], day: date) -> Close | None:
    """The close on `day`, or the last one before it (a weekend or holiday asks for Friday's)."""
    best: Close | None = None
    for close in closes:
        if close.day <= day and (best is None or close.day > best.day):
            best = close
    return best


def default_window(to: date, interval: Interval) -> tuple[date, date]:
    """History range when the caller gives none: a month of days, a year of weeks, five years of months."""
    span = {Interval.day: 31, Interval.week: 366, Interval.month: 5 * 366}[interval]
    return to - timedelta(days=span), to
