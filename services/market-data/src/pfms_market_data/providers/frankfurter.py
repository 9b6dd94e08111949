"""Frankfurter (api.frankfurter.app): ECB reference rates over HTTP, no key.

`/latest?from=EUR&to=USD`, `/{date}?from&to` (answers with the last business day on or before it)
and `/{start}..{end}?from&to` for a series; `/currencies` lists the codes. An unknown code is a 404.
"""

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from pfms_market_data.domain import AssetClass, Close, Match, Quote, parse_pair
from pfms_market_data.providers.base import ProviderError, UnknownSymbol
from pfms_market_data.providers.http import HttpSource

SOURCE = "frankfurter"
ECB_TIME = time(16, 0, tzinfo=UTC)


class FrankfurterProvider:
    name = SOURCE
    classes = frozenset({AssetClass.forex})

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.http = HttpSource(base_url, timeout=timeout)

    @staticmethod
    def _pair(symbol: str) -> tuple[str, str]:
        try:
            return parse_pair(symbol)
        except ValueError as exc:
            raise UnknownSymbol(symbol) from exc

    @staticmethod
    def _rate(body: Any, quote: str) -> Decimal:
        try:
            return Decimal(str(body["rates"][quote]))
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise ProviderError("frankfurter: no rate in answer") from exc

    async def quote(self, symbol: str, asset_class: AssetClass) -> Quote:
        base, quote = self._pair(symbol)
        body = await self.http.json("/latest", {"from": base, "to": quote}, missing=symbol)
        rate = self._rate(body, quote)
        as_of = datetime.combine(date.fromisoformat(body["date"]), ECB_TIME)
        return Quote(symbol, asset_class, rate, quote, as_of, SOURCE)

    async def history(self, symbol: str, asset_class: AssetClass, start: date, end: date) -> list[Close]:
        base, quote = self._pair(symbol)
        span = f"/{start.isoformat()}..{end.isoformat()}"
        body = await self.http.json(span, {"from": base, "to": quote}, missing=symbol)
        rates = body.get("rates") if isinstance(body, dict) else None
        if not isinstance(rates, dict):
            raise ProviderError("frankfurter: no rates in series")
        closes = [Close(date.fromisoformat(day), Decimal(str(r[quote])), quote) for day, r in rates.items()]
        if start not in {c.day for c in closes}:
            # the series starts at the first business day in range; the day before answers "rate on a holiday"
            before = await self.http.json(f"/{start.isoformat()}", {"from": base, "to": quote}, missing=symbol)
            closes.append(Close(date.fromisoformat(before["date"]), self._rate(before, quote), quote))
        return sorted({c.day: c for c in closes}.values(), key=lambda c: c.day)

    async def search(self, query: str) -> list[Match]:
        body = await self.http.json("/currencies")
        q = query.strip().upper()
        if not isinstance(body, dict):
            raise ProviderError("frankfurter: /currencies is not an object")
        return [
            Match(f"EUR-{code}", f"Euro in {name}", AssetClass.forex)
            for code, name in sorted(body.items())
            if code != "EUR" and (q == code or q in str(name).upper())
        ]

    def source(self, asset_class: AssetClass) -> str:
        return SOURCE

    async def close(self) -> None:
        await self.http.close()
