"""Reads and writes every route shares: the caller's own rows (another user's are a 404), the activity log, purge."""

import uuid
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_loan.domain import OPEN_INSTALMENT, ContactType
from pfms_loan.models import (
    Contact,
    ContactGroup,
    Instalment,
    Loan,
    LoanActivity,
    LoanDispute,
    LoanPayment,
    LoanTemplate,
    PaymentReminder,
)
from pfms_platform.errors import NotFound

T = TypeVar("T", Contact, ContactGroup, Loan, LoanTemplate, PaymentReminder)

_NAMES = {
    Contact: "contact",
    ContactGroup: "contact group",
    Loan: "loan",
    LoanTemplate: "loan template",
    PaymentReminder: "reminder",
}


async def owned(
    session: AsyncSession, model: type[T], object_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> T:
    """The caller's row, or 404 whether it does not exist or belongs to someone else."""
    query = select(model).where(model.id == object_id, model.user_id == user_id)
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"No such {_NAMES[model]}")
    return row


async def dispute(session: AsyncSession, loan: Loan, dispute_id: uuid.UUID) -> LoanDispute:
    row = await session.scalar(
        select(LoanDispute).where(LoanDispute.id == dispute_id, LoanDispute.loan_id == loan.id).with_for_update()
    )
    if row is None:
        raise NotFound("No such dispute")
    return row


async def instalments(session: AsyncSession, loan_id: uuid.UUID, *, open_only: bool = False) -> list[Instalment]:
    query = select(Instalment).where(Instalment.loan_id == loan_id)
    if open_only:
        query = query.where(Instalment.status.in_([s.value for s in OPEN_INSTALMENT]))
    return list((await session.scalars(query.order_by(Instalment.installment_number))).all())


async def amount_due(session: AsyncSession, loan: Loan) -> Decimal:
    """Everything still owed: the open instalments' outstanding amounts, or the principal of a loan without EMIs."""
    if not loan.emi_enabled:
        return loan.remaining_balance
    total = await session.scalar(
        select(func.coalesce(func.sum(Instalment.outstanding_amount), 0)).where(Instalment.loan_id == loan.id)
    )
    return Decimal(total or 0)


async def amounts_due(session: AsyncSession, loans: list[Loan]) -> dict[uuid.UUID, Decimal]:
    ids = [loan.id for loan in loans if loan.emi_enabled]
    sums: dict[uuid.UUID, Decimal] = {}
    if ids:
        rows = await session.execute(
            select(Instalment.loan_id, func.sum(Instalment.outstanding_amount))
            .where(Instalment.loan_id.in_(ids))
            .group_by(Instalment.loan_id)
        )
        sums = {loan_id: Decimal(total) for loan_id, total in rows.all()}
    return {loan.id: sums.get(loan.id, Decimal(0)) if loan.emi_enabled else loan.remaining_balance for loan in loans}


def log(
    session: AsyncSession,
    loan: Loan,
    activity_type: str,
    description: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    payment_id: uuid.UUID | None = None,
    instalment_id: uuid.UUID | None = None,
) -> None:
    """One line of the loan's activity log (JSON-safe values: decimals and dates as strings)."""
    session.add(
        LoanActivity(
            id=uuid.uuid4(),
            loan_id=loan.id,
            user_id=loan.user_id,
            activity_type=activity_type,
            activity_description=description,
            payment_id=payment_id,
            emi_schedule_id=instalment_id,
            old_value=_json(old),
            new_value=_json(new),
        )
    )


def _json(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v if v is None or isinstance(v, bool | int | str | list | dict) else str(v) for k, v in values.items()}


FORMER_APP_USER = "Former app user"


async def unlink(session: AsyncSession, *where: Any) -> None:
    """Contacts matching `where` become external people: their loans stay the owner's, and the app user they
    were linked to no longer sees them (access is the live link, see `access.py`)."""
    # Row by row, not one UPDATE: the email the name may fall back to is encrypted, so only Python can read it.
    linked = select(Contact).where(Contact.contact_type == ContactType.APP_USER.value, *where)
    for contact in await session.scalars(linked):
        contact.contact_type = ContactType.EXTERNAL.value
        contact.linked_user_id = None
        contact.name = contact.name or contact.nickname or contact.email or FORMER_APP_USER
    await session.flush()


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every row of the user's: loans (their schedules, payments, reminders, activities and disputes cascade),
    then contacts, groups and templates. Other users' contacts linked to them are unlinked, not deleted: a
    counterparty's deletion ends their view of others' loans and never deletes those loans."""
    await unlink(session, Contact.linked_user_id == user_id)
    for model in (PaymentReminder, LoanActivity, LoanPayment):
        await session.execute(delete(model).where(model.user_id == user_id))
    await session.execute(delete(Loan).where(Loan.user_id == user_id))
    for other in (ContactGroup, Contact, LoanTemplate):
        await session.execute(delete(other).where(other.user_id == user_id))
