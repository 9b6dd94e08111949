"""Routes of loans, their schedules, payments and activity log; another user's loan is always a 404.

A loan belongs to the user who recorded it; when its contact is linked to an app user, that user (the
counterparty) reads it mirrored, read-only (`access.py`): writes are 403 for them, 404 for a stranger.
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response, status
from pydantic import ValidationError
from sqlalchemy import Numeric, Text, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.loan import LoanCreated
from pfms_finance.currency import minor_units, quantize
from pfms_loan import access, domain, ledger, store
from pfms_loan.domain import CLOSED, LoanStatus, PaymentType, Role, mirrored
from pfms_loan.models import Contact, Instalment, Loan, LoanActivity, LoanPayment, LoanTemplate
from pfms_loan.schemas import (
    AllocationPart,
    LoanCreate,
    LoanFilters,
    LoanUpdate,
    Payment,
    PaymentCreate,
    Schedule,
    late_fee_rules,
)
from pfms_loan.schemas import Loan as LoanOut
from pfms_loan.schemas_extras import Activity
from pfms_loan.settings import Settings
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid, validation_details
from pfms_platform.events.outbox import emit
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/loans", tags=["loans"])

SETTINGS_FIELDS = (
    "reason",
    "category",
    "priority",
    "attachments",
    "has_written_agreement",
    "agreement_url",
    "witness_info",
    "reminder_enabled",
    "reminder_days_before",
    "auto_deduct",
    "late_fee_enabled",
    "late_fee_amount",
    "late_fee_type",
    "grace_period_days",
    "prepayment_mode",
)
VIEW_FIELDS = (
    "id",
    "type",
    "contact_id",
    "principal_amount",
    "currency",
    "interest_rate",
    "interest_type",
    "interest_calculation",
    "amortisation",
    "start_date",
    "end_date",
    "actual_end_date",
    "emi_enabled",
    "emi_frequency",
    "emi_amount",
    "emi_day",
    "total_installments",
    "status",
    "remaining_balance",
    "total_paid",
    "total_interest_paid",
    "total_late_fee_paid",
    "created_at",
    "updated_at",
    *SETTINGS_FIELDS,
)


def loan_view(row: Loan, due: Decimal, role: Role = Role.OWNER) -> dict[str, Any]:
    """The loan from `role`'s side: the counterparty sees the direction mirrored, not the owner's contact or notes."""
    values = {f: getattr(row, f) for f in VIEW_FIELDS}
    if role is Role.COUNTERPARTY:
        values |= {"contact_id": None, "type": mirrored(row.type, role)}
    meta = row.meta if role is Role.OWNER else {}
    return LoanOut(**values, role=role, amount_due=due, metadata=meta).model_dump(mode="json")


def _today(request: Request) -> Any:
    settings: Settings = request.app.state.settings
    return settings.today()


async def _with_template(session: AsyncSession, body: LoanCreate, user: uuid.UUID) -> LoanCreate:
    """Fill what the caller left out from their template; the template counts one more use."""
    if body.template_id is None:
        return body
    template = await store.owned(session, LoanTemplate, body.template_id, user, lock=True)
    defaults = {
        "type": template.type,
        "principal_amount": template.default_amount,
        "currency": template.currency,
        "interest_rate": template.interest_rate,
        "interest_type": template.interest_type,
        "emi_frequency": template.emi_frequency,
        "total_installments": template.total_installments,
        "category": template.category,
    }
    if template.emi_frequency and "emi_enabled" not in body.model_fields_set:
        defaults["emi_enabled"] = True
    merged = {k: v for k, v in defaults.items() if v is not None} | body.model_dump(exclude_unset=True)
    try:
        filled = LoanCreate.model_validate(merged)
    except ValidationError as exc:
        details = validation_details(list(exc.errors()))
        raise Invalid(f"Invalid value for '{details[0]['field']}'", details=details) from exc
    template.usage_count += 1
    template.last_used_at = datetime.now(UTC)
    return filled


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[LoanOut])
async def create_loan(body: LoanCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    body = await _with_template(session, body, user)
    body.check()
    assert body.type is not None and body.principal_amount is not None and body.currency is not None
    ledger.in_minor_units(body.principal_amount, body.currency, "principal_amount")
    if body.contact_id is not None:
        contact = await store.owned(session, Contact, body.contact_id, user)
        if contact.is_blocked:
            raise Invalid("The contact is blocked", field="contact_id")
    loan = Loan(
        id=uuid.uuid4(),
        user_id=user,
        contact_id=body.contact_id,
        type=body.type.value,
        principal_amount=body.principal_amount,
        currency=body.currency,
        interest_rate=body.interest_rate,
        interest_type=body.interest_type.value,
        interest_calculation=body.interest_calculation.value,
        amortisation=body.amortisation.value,
        start_date=body.start_date,
        end_date=body.end_date,
        emi_enabled=body.emi_enabled,
        emi_frequency=body.emi_frequency.value if body.emi_frequency else None,
        emi_day=body.emi_day,
        total_installments=body.total_installments,
        status=LoanStatus.ACTIVE.value,
        remaining_balance=body.principal_amount,
        total_paid=Decimal(0),
        total_interest_paid=Decimal(0),
        total_late_fee_paid=Decimal(0),
        interest_paid_to=body.start_date,
        meta=body.metadata,
        **body.model_dump(include=set(SETTINGS_FIELDS)),
    )
    session.add(loan)
    await session.flush()
    if loan.emi_enabled:
        await ledger.write_schedule(session, loan)
    store.log(
        session,
        loan,
        "loan_created",
        f"{loan.type} {loan.principal_amount} {loan.currency}",
        new={"principal_amount": loan.principal_amount, "status": loan.status, "emi_amount": loan.emi_amount},
    )
    await session.flush()
    await session.refresh(loan)
    await emit(
        session,
        LoanCreated(
            user_id=user,
            loan_id=loan.id,
            direction=body.type.value,
            currency=loan.currency,
            contact_id=loan.contact_id,
            principal_amount=quantize(loan.principal_amount, loan.currency),
            interest_rate=loan.interest_rate,
            interest_type=loan.interest_type,
            start_date=loan.start_date,
            emi_enabled=loan.emi_enabled,
            emi_frequency=loan.emi_frequency,
            emi_amount=quantize(loan.emi_amount, loan.currency) if loan.emi_amount is not None else None,
            total_installments=loan.total_installments,
        ),
    )
    return ok(loan_view(loan, await store.amount_due(session, loan)))


@router.get("", response_model=PageEnvelope[LoanOut])
async def list_loans(params: Annotated[LoanFilters, Query()], user: CurrentUser, session: Session) -> dict[str, Any]:
    """The caller's loans and those recorded about them (each with its `role`); `role` narrows to one side."""
    role = access.role_column(user)
    side = Role.OWNER if params.contact_id is not None else params.role
    where = [Loan.id.in_(access.visible_ids(user, side))]
    if params.contact_id is not None:
        where.append(Loan.contact_id == params.contact_id)
    if params.status is not None:
        where.append(Loan.status == params.status.value)
    if params.type is not None:
        mirror = mirrored(params.type.value, Role.COUNTERPARTY)
        where.append(case((Loan.user_id == user, Loan.type), else_=mirror) == params.type.value)
    total = await session.scalar(select(func.count()).select_from(Loan).where(*where))
    found = (
        await session.execute(
            select(Loan, role)
            .where(*where)
            .order_by(Loan.created_at.desc(), Loan.id)
            .offset(params.offset)
            .limit(params.limit)
        )
    ).all()
    dues = await store.amounts_due(session, [loan for loan, _ in found])
    return paged([loan_view(loan, dues[loan.id], Role(side)) for loan, side in found], params, total or 0)


@router.get("/{loan_id}", response_model=Envelope[LoanOut])
async def get_loan(loan_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    seen = await access.readable(session, loan_id, user)
    return ok(loan_view(seen.loan, await store.amount_due(session, seen.loan), seen.role))


@router.patch("/{loan_id}", response_model=Envelope[LoanOut])
async def update_loan(loan_id: uuid.UUID, body: LoanUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Descriptive fields, reminders and penalties; `status` only to cancel or default an open loan."""
    loan = await access.writable(session, loan_id, user, lock=True)
    changes = body.changes()
    new_status = changes.pop("status", None)
    if new_status is not None and new_status != loan.status:
        if LoanStatus(loan.status) in CLOSED or new_status not in (LoanStatus.CANCELLED, LoanStatus.DEFAULTED):
            raise Conflict(f"A {loan.status} loan cannot become {new_status.value}")
        changes["status"] = new_status.value
    if "metadata" in changes:
        changes["meta"] = changes.pop("metadata")
    merged = LoanUpdate.model_validate(
        {f: getattr(loan, f) for f in ("late_fee_enabled", "late_fee_amount", "late_fee_type")}
        | {k: v for k, v in body.changes().items() if k.startswith("late_fee")}
    )
    for broken, field, message in late_fee_rules(merged):
        if broken:
            raise Invalid(message, field=field)
    current = {k: getattr(loan, k) for k in changes}
    old, new = domain.changes(current, changes)
    for key, value in new.items():
        setattr(loan, key, value.value if hasattr(value, "value") else value)
    if new:
        store.log(session, loan, "loan_updated", "Loan changed: " + ", ".join(sorted(new)), old=old, new=new)
    await session.flush()
    await session.refresh(loan)
    return ok(loan_view(loan, await store.amount_due(session, loan)))


@router.get("/{loan_id}/schedule", response_model=Envelope[Schedule])
async def get_schedule(loan_id: uuid.UUID, user: CurrentUser, session: Session) -> Response:
    """Every instalment with its parts, what was paid and what is still owed.

    PostgreSQL formats the amounts to the currency's minor unit and orjson serialises the page once:
    a 30-year monthly loan has 360 rows, which Decimal work per cell, row objects and a second
    validation against the response model would make several times slower.
    """
    loan = (await access.readable(session, loan_id, user)).loan
    digits = minor_units(loan.currency)
    result = await session.execute(
        select(*_schedule_columns(digits)).where(Instalment.loan_id == loan.id).order_by(Instalment.installment_number)
    )
    keys = list(result.keys())
    rows = [dict(zip(keys, values, strict=True), currency=loan.currency) for values in result.all()]
    sums = (
        await session.execute(
            select(
                func.coalesce(func.sum(Instalment.principal_amount), 0),
                func.coalesce(func.sum(Instalment.interest_amount), 0),
                func.coalesce(func.sum(Instalment.late_fee), 0),
            ).where(Instalment.loan_id == loan.id)
        )
    ).one()
    principal, interest, fees = (Decimal(v) for v in sums)
    prepaid = loan.principal_amount - principal if loan.emi_enabled else Decimal(0)
    data = {
        "loan_id": loan.id,
        "currency": loan.currency,
        "total_principal": str(quantize(principal, loan.currency)),
        "prepaid_principal": str(quantize(prepaid, loan.currency)),
        "total_interest": str(quantize(interest, loan.currency)),
        "total_late_fees": str(quantize(fees, loan.currency)),
        "instalments": rows,
    }
    return Response(orjson.dumps(ok(data), default=str), media_type="application/json")


def _schedule_columns(digits: int) -> list[Any]:
    """The schedule's columns, money as text at `digits` decimals (the stored values already are exact there)."""

    def money(column: Any, name: str) -> Any:
        return cast(func.round(column, digits), Text).label(name)

    return [
        Instalment.id,
        Instalment.installment_number,
        Instalment.due_date,
        money(Instalment.principal_amount, "principal_amount"),
        money(Instalment.interest_amount, "interest_amount"),
        money(Instalment.late_fee, "late_fee"),
        money(Instalment.total_amount, "total_amount"),
        money(cast(Instalment.meta["balance_after"].astext, Numeric), "balance_after"),
        Instalment.status,
        money(Instalment.paid_amount, "paid_amount"),
        money(Instalment.outstanding_amount, "outstanding_amount"),
        Instalment.paid_date,
        Instalment.days_overdue,
        Instalment.overdue_since,
    ]


def payment_view(row: LoanPayment) -> dict[str, Any]:
    parts = [
        AllocationPart(
            installment_number=p["installment_number"],
            late_fee=Decimal(p["late_fee"]),
            interest=Decimal(p["interest"]),
            principal=Decimal(p["principal"]),
            currency=row.currency,
        )
        for p in row.meta.get("allocation", [])
    ]
    return Payment(
        id=row.id,
        loan_id=row.loan_id,
        amount=row.amount,
        currency=row.currency,
        payment_date=row.payment_date,
        payment_type=PaymentType(row.payment_type),
        principal_paid=row.principal_paid,
        interest_paid=row.interest_paid,
        late_fee_paid=row.late_fee_paid,
        remaining_balance=row.remaining_balance,
        allocation=parts,
        payment_method=row.payment_method,
        payment_reference=row.payment_reference,
        notes=row.notes,
        receipt_url=row.receipt_url,
        created_at=row.created_at,
    ).model_dump(mode="json")


@router.post("/{loan_id}/payments", status_code=status.HTTP_201_CREATED, response_model=Envelope[Payment])
async def record_payment(
    loan_id: uuid.UUID, body: PaymentCreate, request: Request, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Split late fee → interest → principal, oldest instalment first; a prepayment regenerates the schedule."""
    loan = await access.writable(session, loan_id, user, lock=True)
    if body.currency is not None and body.currency != loan.currency:
        raise Invalid(f"The loan is in {loan.currency}", field="currency")
    if body.payment_type is PaymentType.PREPAYMENT and not loan.emi_enabled:
        raise Invalid("Prepayments apply to EMI loans; pay a loan without a schedule directly", field="payment_type")
    recorded = await ledger.pay(
        session,
        loan,
        amount=body.amount,
        on=body.payment_date,
        kind=body.payment_type,
        mode=body.prepayment_mode,
        today=_today(request),
        extra=body.model_dump(include={"payment_method", "payment_reference", "notes", "receipt_url"}),
    )
    await session.refresh(recorded.payment)
    return ok(payment_view(recorded.payment))


@router.get("/{loan_id}/payments", response_model=PageEnvelope[Payment])
async def list_payments(
    loan_id: uuid.UUID, params: Annotated[PageParams, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    loan = (await access.readable(session, loan_id, user)).loan
    total = await session.scalar(select(func.count()).select_from(LoanPayment).where(LoanPayment.loan_id == loan.id))
    rows = await session.scalars(
        select(LoanPayment)
        .where(LoanPayment.loan_id == loan.id)
        .order_by(LoanPayment.payment_date.desc(), LoanPayment.created_at.desc())
        .offset(params.offset)
        .limit(params.limit)
    )
    return paged([payment_view(r) for r in rows.all()], params, total or 0)


@router.get("/{loan_id}/activities", response_model=PageEnvelope[Activity])
async def list_activities(
    loan_id: uuid.UUID, params: Annotated[PageParams, Query()], user: CurrentUser, session: Session
) -> dict[str, Any]:
    """The loan's log; the counterparty's copy leaves out the owner's private values (metadata)."""
    seen = await access.readable(session, loan_id, user)
    hidden = OWNER_ONLY if seen.role is Role.COUNTERPARTY else frozenset()
    where = LoanActivity.loan_id == seen.loan.id
    total = await session.scalar(select(func.count()).select_from(LoanActivity).where(where))
    rows = await session.scalars(
        select(LoanActivity)
        .where(where)
        .order_by(LoanActivity.created_at.desc(), LoanActivity.id)
        .offset(params.offset)
        .limit(params.limit)
    )
    items = [
        Activity(
            id=r.id,
            loan_id=r.loan_id,
            activity_type=r.activity_type,
            activity_description=r.activity_description,
            payment_id=r.payment_id,
            emi_schedule_id=r.emi_schedule_id,
            old_value=_without(r.old_value, hidden),
            new_value=_without(r.new_value, hidden),
            created_at=r.created_at,
        ).model_dump(mode="json")
        for r in rows.all()
    ]
    return paged(items, params, total or 0)


OWNER_ONLY = frozenset({"meta", "metadata", "contact_id"})
"""What the counterparty does not see of a loan: the owner's notes and address-book row."""


def _without(values: dict[str, Any] | None, hidden: frozenset[str]) -> dict[str, Any] | None:
    return None if values is None else {k: v for k, v in values.items() if k not in hidden}
