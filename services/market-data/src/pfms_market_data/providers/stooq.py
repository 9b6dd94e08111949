"""Stooq CSV quotes for equities (stooq.com, no key): `/q/l/` for the last quote, `/q/d/l/` for daily history.

Tickers take a market suffix (`aapl.us`); `market` sets it. Stooq answers an unknown ticker with
200 and `N/D` fields (quote) or the text `No data` (history), which this adapter turns into
`UnknownSymbol`. Stooq has no search endpoint, so search returns nothing from here.
"""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from pfms_market_data.domain import AssetClass, Close, Match, Quote
from pfms_market_data.providers.base import ProviderError, UnknownSymbol
from pfms_market_data.providers.http import HttpSource

SOURCE = "stooq"


class StooqProvider:
    name = SOURCE
    classes = frozenset({AssetClass.stock})

    def __init__(self, base_url: str, *, timeout: float, market: str = "us", currency: str = "USD") -> None:
        self.http = HttpSource(base_url, timeout=timeout)
        self.market = market.lower()
        self.currency = currency

    def ticker(self, symbol: str) -> str:
        return f"{symbol.lower()}.{self.market}" if "." not in symbol else symbol.lower()

    async def quote(self, symbol: str, asset_class: AssetClass) -> Quote:
        response = await self.http.get(
            "/q/l/", {"s": self.ticker(symbol), "f": "sd2t2ohlcv", "h": "", "e": "csv"}, missing=symbol
        )
        rows = list(csv.DictReader(io.StringIO(response.text)))
        if not rows or "Close" not in rows[0]:
            raise ProviderError("/q/l/: unexpected CSV")
        row = rows[0]
        if row["Close"] in ("N/D", "", None):
            raise UnknownSymbol(symbol)
        try:
            price = Decimal(row["Close"])
            as_of = datetime.fromisoformat(f"{row['Date']}T{row['Time']}").replace(tzinfo=UTC)
        except (InvalidOperation, ValueError) as exc:
            raise ProviderError("/q/l/: unreadable row") from exc
        return Quote(symbol, asset_class, price, self.currency, as_of, SOURCE)

    async def history(self, symbol: str, asset_class: AssetClass, start: date, end: date) -> list[Close]:
        params = {"s": self.ticker(symbol), "d1": start.strftime("%Y%m%d"), "d2": end.strftime("%Y%m%d"), "i": "d"}
        response = await self.http.get("/q/d/l/", params, missing=symbol)
        text = response.text.strip()
        if text.lower().startswith("no data"):
            raise UnknownSymbol(symbol)
        try:
            return [
                Close(date.fromisoformat(row["Date"]), Decimal(row["Close"]), self.currency)
                for row in csv.DictReader(io.StringIO(text))
            ]
        except (KeyError, InvalidOperation, ValueError) as exc:
            raise ProviderError("/q/d/l/: unreadable CSV") from exc

    async def search(self, query: str) -> list[Match]:
        return []

    def source(self, asset_class: AssetClass) -> str:
        return SOURCE

    async def close(self) -> None:
        await self.http.close()
