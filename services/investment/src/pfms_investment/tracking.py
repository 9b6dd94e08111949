"""Which symbols a user holds or watches, and the `investment.symbols_changed` events when that set moves.

market-data refreshes (and publishes `price.updated` for) exactly the symbols someone tracks, so a
change is announced by diffing the user's set before and after the write, in the same transaction.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.investment import SymbolsChanged, TrackedSymbol
from pfms_investment.models import Asset, Portfolio, PriceAlert, WatchlistItem
from pfms_investment.schemas import market_class
from pfms_platform.events.outbox import emit

Key = tuple[str, str]


async def tracked(session: AsyncSession, user: uuid.UUID) -> set[Key]:
    """(symbol, market class) of every non-custom asset, watchlist entry, active alert and benchmark."""
    await session.flush()
    keys: set[Key] = set()
    for symbol, asset_type in await session.execute(
        select(Asset.symbol, Asset.asset_type).where(Asset.user_id == user)
    ):
        if cls := market_class(asset_type):
            keys.add((symbol, cls))
    keys |= {
        tuple(r)
        for r in await session.execute(
            select(WatchlistItem.symbol, WatchlistItem.asset_class).where(WatchlistItem.user_id == user)
        )
    }
    keys |= {
        tuple(r)
        for r in await session.execute(
            select(PriceAlert.symbol, PriceAlert.asset_class).where(
                PriceAlert.user_id == user, PriceAlert.status == "active"
            )
        )
    }
    benchmarks = await session.execute(
        select(Portfolio.benchmark_symbol, Portfolio.benchmark_asset_class).where(
            Portfolio.user_id == user, Portfolio.benchmark_symbol.is_not(None)
        )
    )
    keys |= {(s, c) for s, c in benchmarks if s and c}
    return keys


async def announce(session: AsyncSession, user: uuid.UUID, before: set[Key], after: set[Key]) -> None:
    for action, keys in (("watch", after - before), ("unwatch", before - after)):
        if keys:
            symbols = [TrackedSymbol(symbol=s, asset_class=c) for s, c in sorted(keys)]
            await emit(session, SymbolsChanged(user_id=user, symbols=symbols, action=action))


@asynccontextmanager
async def watching(session: AsyncSession, user: uuid.UUID) -> AsyncIterator[None]:
    """Wrap a write that may change what the user tracks; the diff is announced when it completes."""
    before = await tracked(session, user)
    yield
    await announce(session, user, before, await tracked(session, user))
