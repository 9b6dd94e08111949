"""Habit routes: habits with a unit cost, logs priced from it, stats and progress towards the target."""

import uuid
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import habits, store, views
from pfms_expense.api_expenses import checked_amount
from pfms_expense.habits import StatsPeriod
from pfms_expense.models import Habit, HabitLog
from pfms_expense.scheduler import today_utc
from pfms_expense.schemas import (
    HabitCreate,
    HabitLogCreate,
    HabitLogOut,
    HabitOut,
    HabitProgress,
    HabitStats,
    HabitUpdate,
    StatsBucket,
    StatsQuery,
)
from pfms_finance.currency import quantize
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, NotFound
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/habits", tags=["habits"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such habit (or log) of the caller"}}
TAKEN: dict[int | str, dict[str, Any]] = {409: {"description": "A habit with this name exists"}}


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("You already have a habit with this name", field="name") from exc


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[HabitOut], responses=TAKEN)
async def create_habit(body: HabitCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = Habit(
        id=uuid.uuid4(),
        user_id=user,
        name=body.name,
        category=body.category,
        unit_cost=checked_amount(body.unit_cost, body.currency, "unit_cost"),
        currency=body.currency,
        icon=body.icon,
        target_reduction=body.target_reduction,
        baseline_per_week=body.baseline_per_week,
    )
    session.add(row)
    await _flush(session)
    await session.refresh(row)
    return ok(views.habit(row))


@router.get("", response_model=PageEnvelope[HabitOut])
async def list_habits(user: CurrentUser, session: Session, page: Annotated[PageParams, Query()]) -> dict[str, Any]:
    total = await session.scalar(select(func.count()).select_from(Habit).where(Habit.user_id == user)) or 0
    rows = await session.scalars(
        select(Habit).where(Habit.user_id == user).order_by(Habit.name, Habit.id).offset(page.offset).limit(page.limit)
    )
    return paged([views.habit(r) for r in rows], page, total)


@router.get("/{habit_id}", response_model=Envelope[HabitOut], responses=NOT_FOUND)
async def get_habit(habit_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(views.habit(await store.owned(session, Habit, habit_id, user)))


@router.patch("/{habit_id}", response_model=Envelope[HabitOut], responses={**NOT_FOUND, **TAKEN})
async def update_habit(habit_id: uuid.UUID, body: HabitUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Partial update; logs already written keep the cost they were priced at."""
    row = await store.owned(session, Habit, habit_id, user, lock=True)
    changes = body.changes()
    if {"unit_cost", "currency"} & changes.keys():
        currency = changes.get("currency", row.currency)
        changes["unit_cost"] = checked_amount(changes.get("unit_cost", row.unit_cost), currency, "unit_cost")
    for key, value in changes.items():
        setattr(row, key, value)
    await _flush(session)
    await session.refresh(row)
    return ok(views.habit(row))


@router.delete("/{habit_id}", response_model=Envelope[HabitOut], responses=NOT_FOUND)
async def delete_habit(habit_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The habit and its logs."""
    row = await store.owned(session, Habit, habit_id, user, lock=True)
    shown = views.habit(row)
    await session.delete(row)
    await session.flush()
    return ok(shown)


@router.post(
    "/{habit_id}/log", status_code=status.HTTP_201_CREATED, response_model=Envelope[HabitLogOut], responses=NOT_FOUND
)
async def log_habit(habit_id: uuid.UUID, body: HabitLogCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """A log costs `quantity times unit_cost`, rounded to the currency's minor unit."""
    habit = await store.owned(session, Habit, habit_id, user)
    row = HabitLog(
        id=uuid.uuid4(),
        habit_id=habit.id,
        user_id=user,
        quantity=body.quantity,
        total_cost=habits.log_cost(habit.unit_cost, body.quantity, habit.currency),
        log_date=body.log_date or today_utc(),
        log_time=body.log_time,
        notes=body.notes,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return ok(views.habit_log(row, habit.currency))


@router.get("/{habit_id}/logs", response_model=PageEnvelope[HabitLogOut], responses=NOT_FOUND)
async def list_logs(
    habit_id: uuid.UUID, user: CurrentUser, session: Session, page: Annotated[PageParams, Query()]
) -> dict[str, Any]:
    habit = await store.owned(session, Habit, habit_id, user)
    where = (HabitLog.habit_id == habit.id, HabitLog.user_id == user)
    total = await session.scalar(select(func.count()).select_from(HabitLog).where(*where)) or 0
    rows = await session.scalars(
        select(HabitLog)
        .where(*where)
        .order_by(HabitLog.log_date.desc(), HabitLog.created_at.desc(), HabitLog.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([views.habit_log(r, habit.currency) for r in rows], page, total)


@router.delete("/{habit_id}/logs/{log_id}", response_model=Envelope[HabitLogOut], responses=NOT_FOUND)
async def delete_log(habit_id: uuid.UUID, log_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    habit = await store.owned(session, Habit, habit_id, user)
    row = await session.scalar(
        select(HabitLog).where(HabitLog.id == log_id, HabitLog.habit_id == habit.id, HabitLog.user_id == user)
    )
    if row is None:
        raise NotFound("Habit log not found")
    shown = views.habit_log(row, habit.currency)
    await session.delete(row)
    await session.flush()
    return ok(shown)


@router.get("/{habit_id}/stats", response_model=Envelope[HabitStats], responses=NOT_FOUND)
async def stats(
    habit_id: uuid.UUID, user: CurrentUser, session: Session, query: Annotated[StatsQuery, Query()]
) -> dict[str, Any]:
    """Quantity and cost per week or month for the last `periods` periods (the last is the current one),
    and the current period's reduction against the baseline: the declared `baseline_per_week`, or else
    the average of the earlier periods shown."""
    habit = await store.owned(session, Habit, habit_id, user)
    today = today_utc()
    first = habits.period_start(today, query.period)
    for _ in range(query.periods - 1):
        first = habits.period_start(first - timedelta(days=1), query.period)
    rows = await session.execute(
        select(HabitLog.log_date, func.sum(HabitLog.quantity), func.sum(HabitLog.total_cost))
        .where(HabitLog.habit_id == habit.id, HabitLog.user_id == user, HabitLog.log_date.between(first, today))
        .group_by(HabitLog.log_date)
    )
    buckets = habits.buckets(((d, int(q), Decimal(c)) for d, q, c in rows), query.period, first, today)
    current = buckets[-1]
    baseline = (
        habits.baseline_for(query.period, habit.baseline_per_week)
        if habit.baseline_per_week is not None
        else habits.observed_baseline(buckets[:-1])
    )
    progress = habits.progress(baseline, current.quantity, habit.target_reduction)
    return ok(
        HabitStats(
            habit_id=habit.id,
            period=StatsPeriod(query.period),
            currency=habit.currency,
            buckets=[
                StatsBucket(period_start=b.start, quantity=b.quantity, cost=quantize(b.cost, habit.currency))
                for b in buckets
            ],
            total_quantity=sum(b.quantity for b in buckets),
            total_cost=quantize(sum((b.cost for b in buckets), Decimal(0)), habit.currency),
            progress=HabitProgress(**asdict(progress)),
        ).model_dump(mode="json")
    )
