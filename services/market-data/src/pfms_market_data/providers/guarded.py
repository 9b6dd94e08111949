"""Every provider call goes through its own rate limit, timeout, retries with backoff and circuit breaker."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from pfms_market_data.domain import AssetClass, Close, Match, Quote
from pfms_market_data.providers.base import Provider, ProviderError, UnknownSymbol
from pfms_platform.resilience import Breaker, CircuitOpen, RateLimit, RateLimited, retrying

T = TypeVar("T")


class ProviderDown(Exception):
    """No answer from the provider after retries, or its breaker is open: serve what is cached, else 503."""


class Guarded:
    """Wraps a `Provider`; raises only `UnknownSymbol` (an answer) or `ProviderDown` (no answer)."""

    def __init__(
        self,
        provider: Provider,
        *,
        rate_per_second: float,
        burst: int,
        attempts: int,
        base_delay: float,
        failure_threshold: int,
        reset_seconds: float,
    ) -> None:
        self.provider = provider
        self.name = provider.name
        self.limit = RateLimit(rate_per_second, burst, max_wait=2.0)
        self.breaker = Breaker(provider.name, failure_threshold, reset_seconds, exclude=(UnknownSymbol,))
        self.attempts = attempts
        self.base_delay = base_delay

    async def _call(self, fn: Callable[[], Awaitable[T]]) -> T:
        try:
            async for attempt in retrying(self.attempts, self.base_delay, retry_on=(ProviderError,)):
                with attempt:
                    async with self.breaker:
                        await self.limit.acquire()
                        return await fn()
        except (ProviderError, CircuitOpen, RateLimited) as exc:
            raise ProviderDown(f"{self.name}: {exc}") from exc
        raise ProviderDown(self.name)  # pragma: no cover - retrying always returns or raises

    async def quote(self, symbol: str, asset_class: AssetClass) -> Quote:
        return await self._call(lambda: self.provider.quote(symbol, asset_class))

    async def history(self, symbol: str, asset_class: AssetClass, start: date, end: date) -> list[Close]:
        return await self._call(lambda: self.provider.history(symbol, asset_class, start, end))

    async def search(self, query: str) -> list[Match]:
        return await self._call(lambda: self.provider.search(query))

    def source(self, asset_class: AssetClass) -> str:
        return self.provider.source(asset_class)

    async def close(self) -> None:
        await self.provider.close()
