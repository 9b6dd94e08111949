"""Quotes, history and search over the providers: Redis cache per asset class, one fetch per key at a time.

Read path of a quote: fresh cache entry (TTL per asset class) → else one fetch per key (an
in-process single-flight, plus a short Redis lock so two replicas do not both call the provider)
→ on provider outage, the last known quote (Redis, then the newest `asset_prices` row) with its
age → else `UpstreamUnavailable` (503). Never a made-up price.
"""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pfms_market_data.domain import AssetClass, Close, Match, Quote, age_seconds, plain
from pfms_market_data.models import AssetPrice
from pfms_market_data.providers.base import UnknownSymbol
from pfms_market_data.providers.guarded import Guarded, ProviderDown
from pfms_market_data.settings import Settings
from pfms_platform.errors import AppError, NotFound

LOCK_MS = 5000
WAIT_STEP = 0.02


class UpstreamUnavailable(AppError):
    status_code = 503
    code = "UPSTREAM_UNAVAILABLE"


@dataclass(frozen=True)
class Served:
    quote: Quote
    stale: bool

    def body(self, now: datetime | None = None) -> dict[str, Any]:
        q = self.quote
        return {
            "symbol": q.symbol,
            "asset_class": q.asset_class.value,
            "price": str(q.price),
            "currency": q.currency,
            "as_of": q.as_of.isoformat().replace("+00:00", "Z"),  # as pydantic writes it elsewhere
            "source": q.source,
            "age_seconds": age_seconds(q.as_of, now or datetime.now(UTC)),
            "stale": self.stale,
        }


def _dump(q: Quote) -> str:
    return json.dumps(
        [q.symbol, q.asset_class.value, str(q.price), q.currency, q.as_of.isoformat(), q.source], separators=(",", ":")
    )


def _load(raw: str | bytes) -> Quote:
    symbol, cls, price, currency, as_of, source = json.loads(raw)
    return Quote(symbol, AssetClass(cls), Decimal(price), currency, datetime.fromisoformat(as_of), source)


class Market:
    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        sessions: async_sessionmaker[AsyncSession],
        providers: dict[AssetClass, Guarded],
    ) -> None:
        self.redis = redis
        self.sessions = sessions
        self.providers = providers
        self.ttl = {
            AssetClass.stock: settings.ttl_stock_seconds,
            AssetClass.crypto: settings.ttl_crypto_seconds,
            AssetClass.forex: settings.ttl_forex_seconds,
        }
        self.keep = settings.stale_keep_seconds
        self.wait_seconds = settings.provider_timeout_seconds * settings.provider_attempts
        self._flights: dict[str, asyncio.Future[Quote]] = {}
        self.fetches = 0

    @staticmethod
    def key(kind: str, symbol: str, cls: AssetClass) -> str:
        return f"md:{kind}:{cls.value}:{symbol}"

    async def quote(self, symbol: str, cls: AssetClass) -> Served:
        cached = await self.redis.get(self.key("q", symbol, cls))
        if cached is not None:
            return Served(_load(cached), stale=False)
        try:
            return Served(await self._single_flight(symbol, cls), stale=False)
        except ProviderDown as exc:
            last = await self._last_known(symbol, cls)
            if last is None:
                raise UpstreamUnavailable(
                    f"No price source answered for {symbol} and no earlier price is known", code="UPSTREAM_UNAVAILABLE"
                ) from exc
            return Served(last, stale=True)

    async def refresh(self, symbol: str, cls: AssetClass) -> Quote:
        """Fetch now (the scheduler's path): raises UnknownSymbol or ProviderDown."""
        return await self._single_flight(symbol, cls, use_cache=False)

    async def _single_flight(self, symbol: str, cls: AssetClass, *, use_cache: bool = True) -> Quote:
        flight_key = self.key("q", symbol, cls)
        running = self._flights.get(flight_key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Quote] = asyncio.get_running_loop().create_future()
        self._flights[flight_key] = future
        try:
            quote = await self._fetch_once(symbol, cls, use_cache)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        else:
            future.set_result(quote)
            return quote
        finally:
            del self._flights[flight_key]

    async def _fetch_once(self, symbol: str, cls: AssetClass, use_cache: bool) -> Quote:
        """Across replicas: whoever takes the Redis lock fetches; the others wait for its cache entry."""
        lock = self.key("lock", symbol, cls)
        fresh = self.key("q", symbol, cls)
        if not await self.redis.set(lock, "1", nx=True, px=LOCK_MS):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + min(self.wait_seconds, LOCK_MS / 1000)
            # the holder may be another replica: poll its lock, no in-process event can tell us
            while loop.time() < deadline and await self.redis.exists(lock):  # noqa: ASYNC110
                await asyncio.sleep(WAIT_STEP)
            if use_cache and (cached := await self.redis.get(fresh)) is not None:
                return _load(cached)
        try:
            try:
                quote = await self.providers[cls].quote(symbol, cls)
            except UnknownSymbol as exc:
                raise NotFound(f"Unknown {cls.value} symbol '{symbol}'", field="symbol") from exc
            finally:
                self.fetches += 1
            raw = _dump(quote)
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(fresh, raw, ex=self.ttl[cls])
                pipe.set(self.key("last", symbol, cls), raw, ex=self.keep)
                await pipe.execute()
            await self._persist(symbol, cls, [Close(quote.as_of.date(), quote.price, quote.currency)], quote.source)
            return quote
        finally:
            await self.redis.delete(lock)

    async def _last_known(self, symbol: str, cls: AssetClass) -> Quote | None:
        raw = await self.redis.get(self.key("last", symbol, cls))
        if raw is not None:
            return _load(raw)
        async with self.sessions() as session:
            row = await session.scalar(
                select(AssetPrice)
                .where(AssetPrice.symbol == symbol, AssetPrice.asset_class == cls.value)
                .order_by(AssetPrice.day.desc())
                .limit(1)
            )
        if row is None:
            return None
        # the row keeps the day, not the moment: start of that day overstates the age rather than hide it
        as_of = datetime.combine(row.day, time(), UTC)
        return Quote(symbol, cls, plain(row.close), row.currency, as_of, row.source)

    async def _persist(self, symbol: str, cls: AssetClass, closes: list[Close], source: str) -> None:
        if not closes:
            return
        rows = [
            {
                "symbol": symbol,
                "asset_class": cls.value,
                "day": c.day,
                "close": c.close,
                "currency": c.currency,
                "source": source,
            }
            for c in closes
        ]
        stmt = insert(AssetPrice).values(rows)
        stmt = stmt.on_conflict_do_update(
            constraint="uq_asset_prices_symbol_class_day",
            set_={"close": stmt.excluded.close, "source": stmt.excluded.source, "updated_at": datetime.now(UTC)},
        )
        async with self.sessions() as session, session.begin():
            await session.execute(stmt)

    async def history(self, symbol: str, cls: AssetClass, start: date, end: date) -> tuple[list[Close], bool]:
        """Daily closes from the provider (persisted as they come); on outage, what `asset_prices` holds."""
        provider = self.providers[cls]
        try:
            closes = await provider.history(symbol, cls, start, end)
        except UnknownSymbol as exc:
            raise NotFound(f"Unknown {cls.value} symbol '{symbol}'", field="symbol") from exc
        except ProviderDown as exc:
            stored = await self._stored(symbol, cls, start, end)
            if not stored:
                raise UpstreamUnavailable(f"No price source answered for {symbol}'s history") from exc
            return stored, True
        for chunk in range(0, len(closes), 1000):
            await self._persist(symbol, cls, closes[chunk : chunk + 1000], provider.source(cls))
        return closes, False

    async def _stored(self, symbol: str, cls: AssetClass, start: date, end: date) -> list[Close]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AssetPrice)
                .where(
                    AssetPrice.symbol == symbol,
                    AssetPrice.asset_class == cls.value,
                    AssetPrice.day >= start,
                    AssetPrice.day <= end,
                )
                .order_by(AssetPrice.day)
            )
            return [Close(r.day, plain(r.close), r.currency) for r in rows]

    async def search(self, query: str) -> list[Match]:
        """Ask each distinct provider; one that is down is skipped, but "nothing found" needs them all."""
        distinct = list({id(p): p for p in self.providers.values()}.values())
        answers = await asyncio.gather(*(p.search(query) for p in distinct), return_exceptions=True)
        found: dict[tuple[str, AssetClass], Match] = {}
        failures = 0
        for answer in answers:
            if isinstance(answer, BaseException):
                if not isinstance(answer, ProviderDown):
                    raise answer
                failures += 1
                continue
            for match in answer:
                found.setdefault((match.symbol, match.asset_class), match)
        if failures and not found:
            raise UpstreamUnavailable("No price source answered the search")
        return list(found.values())

    async def close(self) -> None:
        for provider in {id(p): p for p in self.providers.values()}.values():
            await provider.close()
