"""Debits imported by the accounts service (`account.transaction_imported`: a bank connection's sync, a
virtual card's spend) become expenses, then flow like any other (`expense.created`: categorised by ai,
rules run, budgets checked).

Each import is recorded once per (user, source, external id) in `bank_imports`, so a re-delivery creates
nothing. An expense the person already entered by hand for the same payment — same amount, currency and
day, on the import's account or on none, not yet linked to an import — is MATCHED instead of duplicated:
it is linked to the import, takes the account if it had none, and its `expense.updated` carries the
import reference. Every event about an imported expense says where it came from (`import_ref`); when
the import is already on the account's ledger (`posted`, a card spend) the accounts service books nothing.

When the bank later changes the transaction (`account.transaction_revised`) the expense created from it
takes the new amount, day and description (`expense.updated`, budgets re-checked); when the bank drops it
(`account.transaction_removed`) that expense is deleted (`expense.deleted`). An expense the person entered
and the import was matched to stays as they wrote it: a revision is only logged, a removal only unlinks
it. The taken row stays in both cases (its link set to null), so a redelivered import creates nothing.
"""

import uuid

from sqlalchemy import ForeignKey, Index, case, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from pfms_contracts.accounts import TransactionImported, TransactionRemoved, TransactionRevised
from pfms_expense import payloads, spending, store
from pfms_expense.imports.rows import manual_fingerprint
from pfms_expense.models import Expense, Source
from pfms_platform.db import Base
from pfms_platform.events.outbox import emit
from pfms_platform.imports import ImportedRecord, description, reference, take, taken
from pfms_platform.logging import get_logger
from pfms_platform.metrics import EXPENSES_CREATED

log = get_logger(__name__)
MATCHABLE = (Source.MANUAL.value, Source.VOICE.value, Source.RECURRING.value)
"""Expenses a person (or their schedule) recorded, which a bank's copy of the same payment would duplicate."""


class BankImport(ImportedRecord, Base):
    """An imported transaction taken (one per user, source and provider id) and the expense it is."""

    __tablename__ = "expense_bank_imports"
    __table_args__ = (Index("ix_expense_bank_imports_expense_id", "expense_id"),)

    matched: Mapped[bool] = mapped_column(comment="Linked to an expense entered before the import")
    expense_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("expenses.id", ondelete="SET NULL"))


async def on_transaction_imported(session: AsyncSession, data: TransactionImported) -> None:
    if data.direction != "debit":
        return  # money in: the income service's
    record = await take(session, BankImport, data)
    if record is None:
        return  # imported before
    match = await _manual_twin(session, data)
    if match is not None:
        previous = (match.amount, match.expense_date, match.category_id)
        match.account_id = match.account_id or data.account_id
        record.expense_id, record.matched = match.id, True
        await session.flush()
        name = await store.category_name(session, match.category_id)
        await emit(session, payloads.updated(match, name, previous).model_copy(update={"import_ref": reference(data)}))
        log.info("import matched an expense", expense_id=str(match.id), source=data.source)
        return
    label = description(data)
    row = Expense(
        id=uuid.uuid4(),
        user_id=data.user_id,
        amount=data.amount,
        currency=data.currency,
        description=label,
        expense_date=data.occurred_on,
        source=Source.IMPORT.value,
        payment_method="card" if data.source == "card" else "bank",
        account_id=data.account_id,
        meta={"merchant": data.merchant, "import": {"source": data.source, "external_id": data.external_id}},
        fingerprint=manual_fingerprint(data.user_id, data.occurred_on, data.amount, data.currency, label),
    )
    session.add(row)
    await session.flush()
    record.expense_id = row.id
    await emit(session, payloads.created(row, None).model_copy(update={"import_ref": reference(data)}))
    EXPENSES_CREATED.labels("expense", "import").inc()
    await spending.evaluate(session, data.user_id, {(row.expense_date, row.category_id, row.currency)})


async def on_transaction_revised(session: AsyncSession, data: TransactionRevised) -> None:
    if data.direction != "debit":
        return
    record = await taken(session, BankImport, data.user_id, data.source, data.external_id)
    if record is None or record.expense_id is None:
        return  # never taken here, or its expense is gone
    if record.matched:
        log.info("a revised import left the expense the person entered alone", expense_id=str(record.expense_id))
        return
    row = await session.get_one(Expense, record.expense_id, with_for_update=True)
    label = description(data)
    if (row.amount, row.expense_date, row.description) == (data.amount, data.occurred_on, label):
        return  # nothing the expense shows changed (or a redelivery)
    if row.currency != data.currency:
        log.warning("a revised import changed currency: ignored", expense_id=str(row.id))
        return
    previous = (row.amount, row.expense_date, row.category_id)
    touched = {(row.expense_date, row.category_id, row.currency)}
    row.amount, row.expense_date, row.description = data.amount, data.occurred_on, label
    row.meta = {**row.meta, "merchant": data.merchant}
    row.user_currency = row.fx_rate = row.amount_in_user_currency = None  # the conversion job redoes it
    await session.flush()
    name = await store.category_name(session, row.category_id)
    await emit(session, payloads.updated(row, name, previous).model_copy(update={"import_ref": reference(data)}))
    touched.add((row.expense_date, row.category_id, row.currency))
    await spending.evaluate(session, data.user_id, touched)


async def on_transaction_removed(session: AsyncSession, data: TransactionRemoved) -> None:
    record = await taken(session, BankImport, data.user_id, data.source, data.external_id)
    if record is None or record.expense_id is None:
        return  # never taken here (a credit), or already gone
    expense_id, record.expense_id = record.expense_id, None
    if record.matched:
        log.info("a removed import unlinked the expense the person entered", expense_id=str(expense_id))
        return
    row = await session.get_one(Expense, expense_id, with_for_update=True)
    await emit(session, payloads.deleted(row))
    await session.delete(row)
    await session.flush()
    await spending.evaluate(session, row.user_id, [(row.expense_date, row.category_id, row.currency)])


async def forget(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deleted person's taken imports (they outlive their expenses)."""
    await session.execute(delete(BankImport).where(BankImport.user_id == user_id))


async def _manual_twin(session: AsyncSession, data: TransactionImported) -> Expense | None:
    """The person's own record of this payment, if they made one: same amount, currency and day, on this
    account (preferred) or none, not yet linked to an import; the oldest first."""
    linked = exists().where(BankImport.expense_id == Expense.id)
    twin: Expense | None = await session.scalar(
        select(Expense)
        .where(
            Expense.user_id == data.user_id,
            Expense.space_id.is_(None),
            Expense.amount == data.amount,
            Expense.currency == data.currency,
            Expense.expense_date == data.occurred_on,
            Expense.source.in_(MATCHABLE),
            (Expense.account_id == data.account_id) | Expense.account_id.is_(None),
            ~linked,
        )
        .order_by(case((Expense.account_id.is_(None), 1), else_=0), Expense.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return twin
