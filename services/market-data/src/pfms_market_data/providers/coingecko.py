"""CoinGecko public API v3 for crypto (https://docs.coingecko.com/v3.0.1/reference/introduction).

Coins are addressed by id (`bitcoin`), not ticker: a ticker is resolved once with `/search`
(exact symbol, best market-cap rank) and remembered. Quotes from `/simple/price` with
`include_last_updated_at`; daily closes from `/coins/{id}/market_chart/range` (the last point of
each UTC day).
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pfms_market_data.domain import AssetClass, Close, Match, Quote
from pfms_market_data.providers.base import ProviderError, UnknownSymbol
from pfms_market_data.providers.http import HttpSource

SOURCE = "coingecko"


class CoinGeckoProvider:
    name = SOURCE
    classes = frozenset({AssetClass.crypto})

    def __init__(self, base_url: str, *, timeout: float, vs_currency: str = "usd", api_key: str = "") -> None:
        headers = {"x-cg-demo-api-key": api_key} if api_key else None
        self.http = HttpSource(base_url, timeout=timeout, headers=headers)
        self.vs = vs_currency.lower()
        self.ids: dict[str, str] = {}

    async def _coins(self, query: str) -> list[dict[str, Any]]:
        body = await self.http.json("/search", {"query": query})
        coins = body.get("coins") if isinstance(body, dict) else None
        if not isinstance(coins, list):
            raise ProviderError("/search: no coins list")
        return [c for c in coins if isinstance(c, dict) and c.get("id") and c.get("symbol")]

    async def coin_id(self, symbol: str) -> str:
        if symbol not in self.ids:
            exact = [c for c in await self._coins(symbol) if str(c["symbol"]).upper() == symbol]
            if not exact:
                raise UnknownSymbol(symbol)
            exact.sort(key=lambda c: c.get("market_cap_rank") or 10**9)
            self.ids[symbol] = str(exact[0]["id"])
        return self.ids[symbol]

    async def quote(self, symbol: str, asset_class: AssetClass) -> Quote:
        coin = await self.coin_id(symbol)
        body = await self.http.json(
            "/simple/price", {"ids": coin, "vs_currencies": self.vs, "include_last_updated_at": "true"}, missing=symbol
        )
        entry = body.get(coin) if isinstance(body, dict) else None
        if not entry:
            raise UnknownSymbol(symbol)
        try:
            price = Decimal(str(entry[self.vs]))
            as_of = datetime.fromtimestamp(int(entry["last_updated_at"]), UTC)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ProviderError(f"/simple/price: unexpected body for {coin}") from exc
        return Quote(symbol, asset_class, price, self.vs.upper(), as_of, SOURCE)

    async def history(self, symbol: str, asset_class: AssetClass, start: date, end: date) -> list[Close]:
        coin = await self.coin_id(symbol)
        since = datetime.combine(start, time(), UTC)
        until = datetime.combine(end + timedelta(days=1), time(), UTC)
        body = await self.http.json(
            f"/coins/{coin}/market_chart/range",
            {"vs_currency": self.vs, "from": int(since.timestamp()), "to": int(until.timestamp())},
            missing=symbol,
        )
        points = body.get("prices") if isinstance(body, dict) else None
        if not isinstance(points, list):
            raise ProviderError("/market_chart/range: no prices")
        daily: dict[date, Close] = {}
        for stamp, price in points:
            day = datetime.fromtimestamp(stamp / 1000, UTC).date()
            daily[day] = Close(day, Decimal(str(price)), self.vs.upper())
        return [daily[d] for d in sorted(daily) if start <= d <= end]

    async def search(self, query: str) -> list[Match]:
        return [
            Match(str(c["symbol"]).upper(), str(c.get("name") or c["id"]), AssetClass.crypto)
            for c in await self._coins(query)
        ]

    def source(self, asset_class: AssetClass) -> str:
        return SOURCE

    async def close(self) -> None:
        await self.http.close()
