"""Recurring-expense routes. Every change publishes `expense.recurring_changed` (the projection's copy).
A schedule may belong to a shared space (X-Space-ID): its occurrences are then that space's expenses."""

import uuid
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy import func, select

from pfms_expense import payloads, schedules, store, views
from pfms_expense.api_expenses import SPACE_404, WRITE, checked_amount
from pfms_expense.models import RecurringExpense
from pfms_expense.scheduler import today_utc
from pfms_expense.schemas import Occurrence, RecurringCreate, RecurringOut, RecurringUpdate
from pfms_finance.currency import quantize
from pfms_finance.recurrence import Frequency
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid
from pfms_platform.events.outbox import emit
from pfms_platform.spaces import CurrentScope

router = APIRouter(prefix="/api/v1/expenses/recurring", tags=["recurring expenses"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such recurring expense of the caller"}}
SCHEDULE_FIELDS = {"start_date", "frequency", "end_date"}


def _check_dates(start: date, end: date | None) -> None:
    if end is not None and end < start:
        raise Invalid("end_date is before start_date", field="end_date")


def _next_due(row: RecurringExpense, not_before: date | None) -> date | None:
    """First occurrence not yet paid (and not before `not_before`)."""
    floor = row.last_paid_date + timedelta(days=1) if row.last_paid_date else None
    if not_before is not None:
        floor = max(floor, not_before) if floor else not_before
    return schedules.first_due(row.start_date, Frequency(row.frequency), row.end_date, not_before=floor)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=Envelope[RecurringOut], responses=SPACE_404 | WRITE
)
async def create_recurring(body: RecurringCreate, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """A schedule from `start_date`; a start in the past is caught up by the scheduler on its next pass."""
    scope.require("write")
    _check_dates(body.start_date, body.end_date)
    await store.category_in_body(session, body.category_id, scope.user_id, space_id=scope.space_id)
    row = RecurringExpense(
        id=uuid.uuid4(),
        **scope.owner_values(),
        name=body.name,
        amount=checked_amount(body.amount, body.currency),
        currency=body.currency,
        category_id=body.category_id,
        payment_method=body.payment_method,
        account_id=body.account_id,
        tags=body.tags,
        frequency=body.frequency.value,
        start_date=body.start_date,
        end_date=body.end_date,
        next_due_date=body.start_date,
        reminder_days=body.reminder_days,
        inflation_rate=body.inflation_rate,
        auto_pay=body.auto_pay,
        meta=body.metadata,
        is_active=True,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await emit(session, payloads.schedule_changed(row))
    return ok(views.recurring(row))


@router.get("", response_model=PageEnvelope[RecurringOut], responses=SPACE_404)
async def list_recurring(
    scope: CurrentScope, session: Session, page: Annotated[PageParams, Query()], active: bool | None = None
) -> dict[str, Any]:
    where = [scope.require("read").owns(RecurringExpense)]
    if active is not None:
        where.append(RecurringExpense.is_active.is_(active))
    total = await session.scalar(select(func.count()).select_from(RecurringExpense).where(*where)) or 0
    rows = await session.scalars(
        select(RecurringExpense)
        .where(*where)
        .order_by(RecurringExpense.next_due_date.asc().nulls_last(), RecurringExpense.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([views.recurring(r) for r in rows], page, total)


@router.get("/{recurring_id}", response_model=Envelope[RecurringOut], responses=NOT_FOUND)
async def get_recurring(recurring_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(views.recurring(await store.in_scope(session, RecurringExpense, recurring_id, scope.require("read"))))


@router.get("/{recurring_id}/upcoming", response_model=Envelope[list[Occurrence]], responses=NOT_FOUND)
async def upcoming(
    recurring_id: uuid.UUID,
    scope: CurrentScope,
    session: Session,
    count: Annotated[int, Query(ge=1, le=100)] = 12,
) -> dict[str, Any]:
    """The next due dates and their amounts (with inflation), from `next_due_date`."""
    row = await store.in_scope(session, RecurringExpense, recurring_id, scope.require("read"))
    out: list[dict[str, Any]] = []
    day = row.next_due_date
    frequency = Frequency(row.frequency)
    while day is not None and len(out) < count:
        amount = schedules.amount_on(row.amount, row.inflation_rate, row.start_date, day, row.currency)
        out.append({"due_date": day.isoformat(), "amount": str(quantize(amount, row.currency))})
        day = schedules.following(row.start_date, frequency, day, row.end_date)
    return ok(out)


@router.patch("/{recurring_id}", response_model=Envelope[RecurringOut], responses=NOT_FOUND | WRITE)
async def update_recurring(
    recurring_id: uuid.UUID, body: RecurringUpdate, scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """Partial update; a new start, frequency or end recomputes the next due date (paid ones stay paid)."""
    row = await store.in_scope(session, RecurringExpense, recurring_id, scope.require("write"), lock=True)
    changes = body.changes()
    if "frequency" in changes:
        changes["frequency"] = changes["frequency"].value
    if "metadata" in changes:
        changes["meta"] = changes.pop("metadata")
    if "category_id" in changes:
        await store.category_in_body(session, changes["category_id"], scope.user_id, space_id=scope.space_id)
    _check_dates(changes.get("start_date", row.start_date), changes.get("end_date", row.end_date))
    if {"amount", "currency"} & changes.keys():
        changes["amount"] = checked_amount(changes.get("amount", row.amount), changes.get("currency", row.currency))
    diff = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if diff:
        for key, value in diff.items():
            setattr(row, key, value)
        if SCHEDULE_FIELDS & diff.keys():
            row.next_due_date = _next_due(row, None)
        await session.flush()
        await session.refresh(row)
        await emit(session, payloads.schedule_changed(row))
    return ok(views.recurring(row))


@router.post("/{recurring_id}/pause", response_model=Envelope[RecurringOut], responses=NOT_FOUND | WRITE)
async def pause(recurring_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """No occurrence is materialised (nor reminded) while paused."""
    row = await store.in_scope(session, RecurringExpense, recurring_id, scope.require("write"), lock=True)
    if row.is_active:
        row.is_active = False
        await session.flush()
        await session.refresh(row)
        await emit(session, payloads.schedule_changed(row))
    return ok(views.recurring(row))


@router.post("/{recurring_id}/resume", response_model=Envelope[RecurringOut], responses=NOT_FOUND | WRITE)
async def resume(recurring_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Occurrences that fell due during the pause are skipped, not caught up: the next is today or later."""
    row = await store.in_scope(session, RecurringExpense, recurring_id, scope.require("write"), lock=True)
    if not row.is_active:
        row.is_active = True
        row.next_due_date = _next_due(row, today_utc())
        await session.flush()
        await session.refresh(row)
        await emit(session, payloads.schedule_changed(row))
    return ok(views.recurring(row))


@router.delete("/{recurring_id}", response_model=Envelope[RecurringOut], responses=NOT_FOUND | WRITE)
async def delete_recurring(recurring_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """The schedule goes; the expenses it already produced stay (their link is cleared)."""
    row = await store.in_scope(session, RecurringExpense, recurring_id, scope.require("write"), lock=True)
    shown = views.recurring(row)
    await emit(session, payloads.schedule_changed(row, is_deleted=True))
    await session.delete(row)
    await session.flush()
    return ok(shown)
