"""The projection use case: read the inputs, project (pure), keep the latest, cache it for five minutes."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.currency import quantize
from pfms_income import domain, store
from pfms_income.cache import ProjectionCache, cache_key
from pfms_income.schemas import ProjectionParams
from pfms_income.settings import Settings
from pfms_platform.db import Database
from pfms_platform.logging import get_logger

log = get_logger(__name__)


def shape(projection: domain.Projection, calculated_at: datetime, window_days: int) -> dict[str, Any]:
    """The public form (`schemas.CashflowProjection`), built directly rather than validated field by field.

    This is the hot path of an uncached projection (365 days), and every money figure of the domain
    already carries its currency's minor unit, so the only work left is naming the fields.
    """
    lowest = projection.lowest
    assert lowest is not None  # a projection always has at least one day
    code = projection.currency
    return {
        "currency": code,
        "as_of": projection.today,
        "days": len(projection.days),
        "starting_balance": quantize(projection.starting_balance, code),
        "threshold": quantize(projection.threshold, code),
        "daily_burn": projection.daily_burn,
        "burn_window_days": window_days,
        "total_expected_income": projection.total_income,
        "total_expected_expenses": projection.total_expenses,
        "ending_balance": projection.ending_balance,
        "lowest_balance": lowest.projected_balance,
        "lowest_balance_date": lowest.date,
        "warning_dates": list(projection.warning_dates),
        "series": [
            {
                "currency": code,
                "date": day.date,
                "expected_income": day.expected_income,
                "expected_expenses": day.expected_expenses,
                "burn": day.burn,
                "scheduled_outflows": day.scheduled_outflows,
                "projected_balance": day.projected_balance,
                "confidence": float(day.confidence),
                "below_threshold": day.below_threshold,
                "notes": list(day.notes),
            }
            for day in projection.days
        ],
        "other_currencies": [
            {
                "currency": other.currency,
                "daily_burn": other.daily_burn,
                "expected_income": other.expected_income,
                "expected_expenses": other.expected_expenses,
            }
            for other in projection.other_currencies
        ],
        "calculated_at": calculated_at,
        "cached": False,
    }


def to_json(value: Any) -> bytes:
    """orjson with decimals as strings (money is never a JSON number)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_UTC_Z)


async def projection(
    session: AsyncSession, cache: ProjectionCache, settings: Settings, user_id: uuid.UUID, params: ProjectionParams
) -> tuple[dict[str, Any], domain.Projection | None]:
    """The user's projection (public form), and the computed projection to keep if it was not cached."""
    today = datetime.now(UTC).date()
    # The version is read before any input, so whatever is computed below is at least that fresh.
    version, profile_currency = await store.inputs_state(session, user_id)
    currency = params.currency or profile_currency or settings.default_currency
    starting = settings.default_starting_balance if params.starting_balance is None else params.starting_balance
    threshold = settings.default_threshold if params.threshold is None else params.threshold
    domain.check_minor_units(currency, starting_balance=starting, threshold=threshold)
    starting, threshold = quantize(starting, currency), quantize(threshold, currency)

    key = cache_key(user_id, version, today, params.days, currency, starting, threshold)
    if (hit := await cache.get(key)) is not None:
        hit["cached"] = True
        return hit, None

    window = settings.burn_window_days
    result = domain.project(
        domain.ProjectionInput(
            today=today,
            days=params.days,
            currency=currency,
            starting_balance=starting,
            threshold=threshold,
            burn_totals=await store.burn_totals(session, user_id, today - timedelta(days=window - 1), today),
            incomes=await store.income_schedules(session, user_id),
            outflows=await store.outflow_schedules(session, user_id),
            burn_window_days=window,
            half_life_days=settings.confidence_half_life_days,
        )
    )
    body = shape(result, datetime.now(UTC), window)
    await cache.put(key, to_json(body))
    return body, result


async def keep_latest(db: Database, user_id: uuid.UUID, result: domain.Projection, calculated_at: datetime) -> None:
    """Store the projection as the user's latest, in its own unit of work once the answer has gone out.

    Writing a year of rows costs about as much as projecting it, and the answer does not depend on
    it, so it is kept off the request's path. A failure loses only this snapshot: the next
    computation writes a newer one.
    """
    try:
        async with db.sessions() as session, session.begin():
            # One writer per user at a time, so two projections never interleave their rows.
            await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"income-projection:{user_id}"))))
            await store.save_projection(session, user_id, result, calculated_at)
    except Exception as exc:
        log.warning("latest projection not stored", user_id=str(user_id), error=str(exc)[:200])


class LatestWriter:
    """Stores each user's latest projection with at most one write per user in flight in this instance.

    Only the newest projection is kept, so a burst of projections for one user (a dashboard
    refreshing, a client stepping through horizons) needs one write, not one per request: the
    first waits `delay` seconds, then writes; projections submitted meanwhile (or during the write)
    replace each other in a one-slot queue, and the writer stores the newest when it is done.
    Across instances the advisory lock and the `calculated_at` guard of `save_projection` keep the
    newest. A projection still waiting at shutdown is not stored: the next computation is.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._pending: dict[uuid.UUID, tuple[domain.Projection, datetime]] = {}
        self._writing: set[uuid.UUID] = set()

    async def submit(
        self, db: Database, user_id: uuid.UUID, result: domain.Projection, calculated_at: datetime
    ) -> None:
        self._pending[user_id] = (result, calculated_at)
        if user_id in self._writing:
            return
        self._writing.add(user_id)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            while (job := self._pending.pop(user_id, None)) is not None:
                await keep_latest(db, user_id, *job)
        finally:
            self._writing.discard(user_id)
