"""The refresh loop: every tracked symbol gets a fresh quote, and `price.updated` when it moved.

Safe with any number of replicas: each round claims due rows of `refresh_queue` with
`FOR UPDATE SKIP LOCKED`, so two replicas never refresh the same symbol at once, and the event is
written through the outbox in the same transaction that records the new price.
"""

import asyncio
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pfms_contracts.market import PriceUpdated
from pfms_market_data.domain import AssetClass, change_percent
from pfms_market_data.market import Market
from pfms_market_data.models import RefreshItem
from pfms_market_data.providers.guarded import ProviderDown
from pfms_platform.errors import NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.logging import get_logger

log = get_logger(__name__)


async def refresh_due(
    sessions: async_sessionmaker[AsyncSession], market: Market, *, interval: float, batch: int
) -> int:
    """One round: refresh up to `batch` due symbols; returns how many `price.updated` were written."""
    now = datetime.now(UTC)
    published = 0
    async with sessions() as session, session.begin():
        due = (
            await session.scalars(
                select(RefreshItem)
                .where(RefreshItem.next_at <= now)
                .order_by(RefreshItem.next_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for item in due:
            item.next_at = now + timedelta(seconds=interval)
            try:
                quote = await market.refresh(item.symbol, AssetClass(item.asset_class))
            except (ProviderDown, NotFound) as exc:
                log.info("refresh skipped", symbol=item.symbol, reason=str(exc))
                continue
            if item.last_price == quote.price and item.last_as_of == quote.as_of:
                continue
            await emit(
                session,
                PriceUpdated(
                    symbol=quote.symbol,
                    asset_class=quote.asset_class.value,
                    price=quote.price,
                    currency=quote.currency,
                    as_of=quote.as_of,
                    source=quote.source,
                    change_percent=change_percent(item.last_price, quote.price),
                ),
            )
            item.last_price, item.last_as_of = quote.price, quote.as_of
            published += 1
    return published


async def refresh_loop(app: FastAPI) -> None:
    settings = app.state.settings
    while True:
        try:
            await refresh_due(
                app.state.db.sessions,
                app.state.market,
                interval=settings.refresh_interval_seconds,
                batch=settings.refresh_batch,
            )
        except Exception as exc:  # a database blip must not end the loop, but shutdown must
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            log.warning("refresh round failed", error=repr(exc))
        await asyncio.sleep(min(settings.refresh_interval_seconds, 5.0))
