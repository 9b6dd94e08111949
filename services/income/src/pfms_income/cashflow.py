"""The projection use case: read the inputs, project (pure), keep the latest, cache it for five minutes."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.currency import quantize
from pfms_income import domain, store
from pfms_income.cache import ProjectionCache, cache_key
from pfms_income.schemas import CashflowProjection, ForeignCurrency, ProjectionDay, ProjectionParams
from pfms_income.settings import Settings


def shape(projection: domain.Projection, calculated_at: datetime, window_days: int) -> dict[str, Any]:
    """The public form of a projection (JSON-ready)."""
    lowest = projection.lowest
    assert lowest is not None  # a projection always has at least one day
    code = projection.currency
    return CashflowProjection(
        currency=code,
        as_of=projection.today,
        days=len(projection.days),
        starting_balance=projection.starting_balance,
        threshold=projection.threshold,
        daily_burn=projection.daily_burn,
        burn_window_days=window_days,
        total_expected_income=projection.total_income,
        total_expected_expenses=projection.total_expenses,
        ending_balance=projection.ending_balance,
        lowest_balance=lowest.projected_balance,
        lowest_balance_date=lowest.date,
        warning_dates=list(projection.warning_dates),
        series=[
            ProjectionDay(
                currency=code,
                date=day.date,
                expected_income=day.expected_income,
                expected_expenses=day.expected_expenses,
                burn=day.burn,
                scheduled_outflows=day.scheduled_outflows,
                projected_balance=day.projected_balance,
                confidence=float(day.confidence),
                below_threshold=day.below_threshold,
                notes=list(day.notes),
            )
            for day in projection.days
        ],
        other_currencies=[
            ForeignCurrency(
                currency=other.currency,
                daily_burn=other.daily_burn,
                expected_income=other.expected_income,
                expected_expenses=other.expected_expenses,
            )
            for other in projection.other_currencies
        ],
        calculated_at=calculated_at,
        cached=False,
    ).model_dump(mode="json")


async def projection(
    session: AsyncSession, cache: ProjectionCache, settings: Settings, user_id: uuid.UUID, params: ProjectionParams
) -> dict[str, Any]:
    """The user's projection: from the cache when the inputs have not changed, else computed and stored."""
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
        return {**hit, "cached": True}

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
    calculated_at = datetime.now(UTC)
    # One writer per user at a time, so two concurrent projections never interleave their rows.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"income-projection:{user_id}"))))
    await store.save_projection(session, user_id, result, calculated_at)
    body = shape(result, calculated_at, window)
    await cache.put(key, body)
    return body
