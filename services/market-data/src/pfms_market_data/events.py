"""Events market-data consumes: who tracks which symbols, account deletions, and its own price updates.

`price.updated` comes back through the consumer so only committed prices reach the streams: the
handler NOTIFYs PostgreSQL in the event's transaction, and every replica's `Broadcaster` LISTENs
and pushes to its SSE clients.
"""

import json

from sqlalchemy import delete, exists, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserDeleted
from pfms_contracts.investment import SymbolsChanged
from pfms_contracts.market import PriceUpdated
from pfms_market_data.domain import AssetClass
from pfms_market_data.models import RefreshItem, TrackedSymbol
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger

log = get_logger(__name__)

CHANNEL = "market_prices"


def _known(asset_class: str) -> bool:
    return asset_class in AssetClass.__members__


async def _prune(session: AsyncSession) -> None:
    """Stop refreshing symbols nobody tracks any more."""
    tracked = exists().where(
        TrackedSymbol.symbol == RefreshItem.symbol, TrackedSymbol.asset_class == RefreshItem.asset_class
    )
    await session.execute(delete(RefreshItem).where(~tracked))


async def on_symbols_changed(session: AsyncSession, data: SymbolsChanged) -> None:
    """watch: track and queue for refresh (idempotent upserts); unwatch: untrack and prune."""
    pairs = {(s.symbol.strip().upper(), s.asset_class) for s in data.symbols if _known(s.asset_class)}
    skipped = [s.symbol for s in data.symbols if not _known(s.asset_class)]
    if skipped:
        log.info("symbols of classes without a provider ignored", symbols=skipped)
    if not pairs:
        return
    if data.action == "watch":
        rows = [{"user_id": data.user_id, "symbol": s, "asset_class": c} for s, c in pairs]
        await session.execute(insert(TrackedSymbol).values(rows).on_conflict_do_nothing())
        queue = [{"symbol": s, "asset_class": c} for s, c in pairs]
        await session.execute(insert(RefreshItem).values(queue).on_conflict_do_nothing())
        return
    for symbol, cls in pairs:
        await session.execute(
            delete(TrackedSymbol).where(
                TrackedSymbol.user_id == data.user_id, TrackedSymbol.symbol == symbol, TrackedSymbol.asset_class == cls
            )
        )
    await _prune(session)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await session.execute(delete(TrackedSymbol).where(TrackedSymbol.user_id == data.user_id))
    await _prune(session)
    log.info("tracked symbols purged", user_id=str(data.user_id))


async def on_price_updated(session: AsyncSession, data: PriceUpdated) -> None:
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": json.dumps(data.model_dump(mode="json"))},
    )


HANDLERS: dict[str, Handler] = {
    SymbolsChanged.type: on_symbols_changed,
    UserDeleted.type: on_user_deleted,
    PriceUpdated.type: on_price_updated,
}
