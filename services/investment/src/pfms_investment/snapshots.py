"""The daily snapshot job: a background loop in every instance of the service.

Each pass claims portfolios that have no snapshot for today with `FOR UPDATE SKIP LOCKED`, so two
instances never value the same portfolio at once, and the unique (portfolio, day) key makes a
second snapshot of a day impossible even if a claim were lost. It reads only the service's own
caches (prices, FX): a portfolio whose rates are missing is skipped until a later pass.
"""

import asyncio
import uuid
from datetime import date

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from pfms_investment.evaluate import portfolio_analytics, today_utc
from pfms_investment.models import Portfolio, PortfolioSnapshot
from pfms_platform.db import Database
from pfms_platform.errors import AppError
from pfms_platform.logging import get_logger

log = get_logger(__name__)

CLAIM = 20


async def take(db: Database, today: date) -> int:
    """Snapshot every portfolio that lacks today's; returns how many were written."""
    written, skipped = 0, set[uuid.UUID]()
    while True:
        async with db.sessions() as session, session.begin():
            taken = select(PortfolioSnapshot.portfolio_id).where(PortfolioSnapshot.snapshot_date == today)
            rows = (
                await session.scalars(
                    select(Portfolio)
                    .where(Portfolio.id.not_in(taken), Portfolio.id.not_in(skipped or {uuid.UUID(int=0)}))
                    .order_by(Portfolio.id)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for portfolio in rows:
                try:
                    async with session.begin_nested():
                        result = await portfolio_analytics(session, None, portfolio, today)
                except AppError as exc:
                    log.warning("snapshot skipped", portfolio_id=str(portfolio.id), error=exc.message[:200])
                    skipped.add(portfolio.id)
                    continue
                allocation = {
                    k: [
                        {**a, "value": str(a["value"]), "percent": None if a["percent"] is None else str(a["percent"])}
                        for a in v
                    ]
                    for k, v in result["allocation"].items()
                }
                inserted = await session.scalar(
                    insert(PortfolioSnapshot)
                    .values(
                        id=uuid.uuid4(),
                        portfolio_id=portfolio.id,
                        user_id=portfolio.user_id,
                        snapshot_date=today,
                        currency=portfolio.base_currency,
                        total_value=result["current_value"],
                        invested=result["invested"],
                        total_return=result["total_return"],
                        return_percent=result["total_return_percent"],
                        allocation=allocation,
                    )
                    .on_conflict_do_nothing(constraint="uq_portfolio_snapshots_day")
                    .returning(PortfolioSnapshot.id)
                )
                written += inserted is not None
        if len(rows) < CLAIM:
            return written


async def run(app: FastAPI) -> None:
    """The background loop; one failed pass is logged and the next one tries again."""
    settings = app.state.settings
    while True:
        try:
            n = await take(app.state.db, today_utc())
            if n:
                log.info("snapshots taken", count=n)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("snapshot pass failed", error=str(exc)[:300])
        await asyncio.sleep(settings.snapshot_interval_seconds)
