"""Budget routes: per category (with its sub-categories) or overall, per period, with rollover and alerts.
With `X-Space-ID` a budget belongs to a shared space and counts every member's expenses in it."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import budgets, spending, store, views
from pfms_expense.api_expenses import SPACE_404, WRITE, checked_amount
from pfms_expense.budgets import BudgetPeriod
from pfms_expense.models import Budget, BudgetCrossing
from pfms_expense.scheduler import today_utc
from pfms_expense.schemas_budgets import BudgetCreate, BudgetOut, BudgetStatus, BudgetUpdate
from pfms_expense.spending import PeriodStatus
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.spaces import CurrentScope

router = APIRouter(prefix="/api/v1/budgets", tags=["budgets"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such budget of the caller"}}


def _check_period(kind: BudgetPeriod, start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise Invalid("end_date is before start_date", field="end_date")
    if kind is BudgetPeriod.CUSTOM and end is None:
        raise Invalid("A custom budget needs an end_date", field="end_date")


async def _status(session: AsyncSession, row: Budget, day: date) -> PeriodStatus | None:
    period = budgets.period_containing(BudgetPeriod(row.period), row.start_date, row.end_date, day)
    if period is None:
        return None
    parent_of = await store.budget_parents(session, row.user_id, row.space_id, [row])
    return await spending.period_status(session, row, period, parent_of)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[BudgetOut], responses=SPACE_404 | WRITE)
async def create_budget(body: BudgetCreate, scope: CurrentScope, session: Session) -> dict[str, Any]:
    scope.require("write")
    _check_period(body.period, body.start_date, body.end_date)
    await store.category_in_body(session, body.category_id, scope.user_id, space_id=scope.space_id)
    row = Budget(
        id=uuid.uuid4(),
        **scope.owner_values(),
        name=body.name,
        category_id=body.category_id,
        amount=checked_amount(body.amount, body.currency),
        currency=body.currency,
        period=body.period.value,
        start_date=body.start_date,
        end_date=body.end_date,
        rollover=body.rollover,
        alert_thresholds=sorted(set(body.alert_thresholds)),
        is_active=True,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return ok(views.budget(row, await spending.evaluate_budget(session, row, today_utc())))


@router.get("", response_model=PageEnvelope[BudgetOut], responses=SPACE_404)
async def list_budgets(scope: CurrentScope, session: Session, page: Annotated[PageParams, Query()]) -> dict[str, Any]:
    """The caller's budgets (or the space's), each with today's spent/remaining/percentage."""
    mine = scope.require("read").owns(Budget)
    total = await session.scalar(select(func.count()).select_from(Budget).where(mine)) or 0
    rows = list(
        (
            await session.scalars(
                select(Budget).where(mine).order_by(Budget.name, Budget.id).offset(page.offset).limit(page.limit)
            )
        ).all()
    )
    today = today_utc()
    return paged([views.budget(r, await _status(session, r, today)) for r in rows], page, total)


@router.get("/{budget_id}", response_model=Envelope[BudgetOut], responses=NOT_FOUND)
async def get_budget(budget_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    row = await store.in_scope(session, Budget, budget_id, scope.require("read"))
    return ok(views.budget(row, await _status(session, row, today_utc())))


@router.get("/{budget_id}/status", response_model=Envelope[BudgetStatus], responses=NOT_FOUND)
async def budget_status(
    budget_id: uuid.UUID, scope: CurrentScope, session: Session, on: Annotated[date | None, Query()] = None
) -> dict[str, Any]:
    """Spent, remaining and percentage of the period holding `on` (default today)."""
    row = await store.in_scope(session, Budget, budget_id, scope.require("read"))
    current = await _status(session, row, on or today_utc())
    if current is None:
        raise NotFound("The budget has no period on that date")
    return ok(views.budget_status(current).model_dump(mode="json"))


@router.patch("/{budget_id}", response_model=Envelope[BudgetOut], responses=NOT_FOUND | WRITE)
async def update_budget(
    budget_id: uuid.UUID, body: BudgetUpdate, scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """Partial update. Changing what the budget counts (category, currency, period, start) starts its
    alerts afresh; raising the amount does not re-send alerts already sent this period."""
    row = await store.in_scope(session, Budget, budget_id, scope.require("write"), lock=True)
    changes = body.changes()
    if "period" in changes:
        changes["period"] = changes["period"].value
    if "alert_thresholds" in changes:
        changes["alert_thresholds"] = sorted(set(changes["alert_thresholds"]))
    if "category_id" in changes:
        await store.category_in_body(session, changes["category_id"], scope.user_id, space_id=scope.space_id)
    _check_period(
        BudgetPeriod(changes.get("period", row.period)),
        changes.get("start_date", row.start_date),
        changes.get("end_date", row.end_date),
    )
    if {"amount", "currency"} & changes.keys():
        changes["amount"] = checked_amount(changes.get("amount", row.amount), changes.get("currency", row.currency))
    diff = {k: v for k, v in changes.items() if getattr(row, k) != v}
    for key, value in diff.items():
        setattr(row, key, value)
    if {"category_id", "currency", "period", "start_date"} & diff.keys():
        await session.execute(delete(BudgetCrossing).where(BudgetCrossing.budget_id == row.id))
    await session.flush()
    await session.refresh(row)
    if diff and row.is_active:  # a changed budget may be past a threshold already: alert now
        return ok(views.budget(row, await spending.evaluate_budget(session, row, today_utc())))
    return ok(views.budget(row, await _status(session, row, today_utc())))


@router.delete("/{budget_id}", response_model=Envelope[BudgetOut], responses=NOT_FOUND | WRITE)
async def delete_budget(budget_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    row = await store.in_scope(session, Budget, budget_id, scope.require("write"), lock=True)
    shown = views.budget(row, None)
    await session.delete(row)
    await session.flush()
    return ok(shown)
