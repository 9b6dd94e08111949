"""Routes of loan templates and payment reminders (snooze, acknowledge); disputes are in `api_disputes`.

Fixed paths (`/templates`, `/reminders`) are registered before `/api/v1/loans/{loan_id}`.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pfms_loan import access, store
from pfms_loan.models import LoanTemplate, PaymentReminder
from pfms_loan.schemas_extras import (
    Reminder,
    ReminderFilters,
    Snooze,
    Template,
    TemplateCreate,
    TemplateUpdate,
)
from pfms_loan.settings import Settings
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/loans", tags=["loans"])

TEMPLATE_FIELDS = tuple(Template.model_fields)
REMINDER_FIELDS = tuple(Reminder.model_fields)


def template_view(row: LoanTemplate) -> dict[str, Any]:
    return Template(**{f: getattr(row, f) for f in TEMPLATE_FIELDS}).model_dump(mode="json")


def reminder_view(row: PaymentReminder) -> dict[str, Any]:
    return Reminder(**{f: getattr(row, f) for f in REMINDER_FIELDS}).model_dump(mode="json")


# --- templates --------------------------------------------------------------------------------------


async def _flush_unique(session: Any) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("You already have a template with this name") from exc


@router.post("/templates", status_code=status.HTTP_201_CREATED, response_model=Envelope[Template])
async def create_template(body: TemplateCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = LoanTemplate(id=uuid.uuid4(), user_id=user, usage_count=0, **body.model_dump())
    session.add(row)
    await _flush_unique(session)
    await session.refresh(row)
    return ok(template_view(row))


@router.get("/templates", response_model=PageEnvelope[Template])
async def list_templates(params: Annotated[PageParams, Query()], user: CurrentUser, session: Session) -> dict[str, Any]:
    total = await session.scalar(select(func.count()).select_from(LoanTemplate).where(LoanTemplate.user_id == user))
    rows = await session.scalars(
        select(LoanTemplate)
        .where(LoanTemplate.user_id == user)
        .order_by(LoanTemplate.usage_count.desc(), LoanTemplate.template_name)
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([template_view(r) for r in rows.all()], params, total or 0)


@router.get("/templates/{template_id}", response_model=Envelope[Template])
async def get_template(template_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(template_view(await store.owned(session, LoanTemplate, template_id, user)))


@router.patch("/templates/{template_id}", response_model=Envelope[Template])
async def update_template(
    template_id: uuid.UUID, body: TemplateUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    row = await store.owned(session, LoanTemplate, template_id, user, lock=True)
    for key, value in body.changes().items():
        setattr(row, key, value)
    if row.interest_type == "none" and row.interest_rate:
        raise Invalid("interest_rate needs interest_type simple or compound", field="interest_rate")
    await _flush_unique(session)
    await session.refresh(row)
    return ok(template_view(row))


@router.delete("/templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    await session.delete(await store.owned(session, LoanTemplate, template_id, user))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- reminders --------------------------------------------------------------------------------------


@router.get("/reminders", response_model=PageEnvelope[Reminder])
async def list_reminders(
    params: Annotated[ReminderFilters, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    where = [PaymentReminder.user_id == user]
    if params.pending is not None:
        where.append(PaymentReminder.is_acknowledged.is_(not params.pending))
    total = await session.scalar(select(func.count()).select_from(PaymentReminder).where(*where))
    rows = await session.scalars(
        select(PaymentReminder)
        .where(*where)
        .order_by(PaymentReminder.due_date, PaymentReminder.created_at)
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([reminder_view(r) for r in rows.all()], params, total or 0)


@router.post("/reminders/{reminder_id}/snooze", response_model=Envelope[Reminder])
async def snooze(
    reminder_id: uuid.UUID, body: Snooze, request: Request, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Remind again on `until`; the daily job sends it that day unless acknowledged meanwhile."""
    row = await store.owned(session, PaymentReminder, reminder_id, user, lock=True)
    settings: Settings = request.app.state.settings
    if body.until <= settings.today():
        raise Invalid("until must be after today", field="until")
    if row.is_acknowledged:
        raise Conflict("The reminder is already acknowledged")
    row.is_snoozed = True
    row.snooze_until = body.until
    return ok(reminder_view(row))


@router.post("/reminders/{reminder_id}/acknowledge", response_model=Envelope[Reminder])
async def acknowledge(reminder_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = await store.owned(session, PaymentReminder, reminder_id, user, lock=True)
    if not row.is_acknowledged:
        row.is_acknowledged = True
        row.acknowledged_at = datetime.now(UTC)
        row.is_snoozed = False
    return ok(reminder_view(row))


@router.get("/{loan_id}/reminders", response_model=PageEnvelope[Reminder])
async def loan_reminders(
    loan_id: uuid.UUID, params: Annotated[PageParams, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    """The owner's reminders of the loan (the counterparty gets 403: they are the owner's notifications)."""
    loan = await access.writable(session, loan_id, user)
    where = PaymentReminder.loan_id == loan.id
    total = await session.scalar(select(func.count()).select_from(PaymentReminder).where(where))
    rows = await session.scalars(
        select(PaymentReminder)
        .where(where)
        .order_by(PaymentReminder.due_date, PaymentReminder.created_at)
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([reminder_view(r) for r in rows.all()], params, total or 0)
