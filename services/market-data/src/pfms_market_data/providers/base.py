"""The one interface every price source implements, and the errors a caller can tell apart."""

from datetime import date
from typing import Protocol

from pfms_market_data.domain import AssetClass, Close, Match, Quote


class UnknownSymbol(Exception):
    """The provider answered, and it does not know this symbol: a 404, never a provider fault."""


class ProviderError(Exception):
    """The provider did not answer usefully (timeout, 5xx, garbage): retried, then counted by the breaker."""


class Provider(Protocol):
    """A source of quotes, daily closes and symbol search for some asset classes."""

    name: str
    classes: frozenset[AssetClass]

    async def quote(self, symbol: str, asset_class: AssetClass) -> Quote: ...

    async def history(self, symbol: str, asset_class: AssetClass, start: date, end: date) -> list[Close]: ...

    async def search(self, query: str) -> list[Match]: ...

    def source(self, asset_class: AssetClass) -> str:
        """What answers carry in `source` for this class."""
        ...

    async def close(self) -> None: ...
