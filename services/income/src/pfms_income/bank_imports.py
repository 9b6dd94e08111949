"""Credits imported by the accounts service (`account.transaction_imported` from a bank connection's
sync) become income transactions, published as `income.received` like any other (so the accounts
service books them on the account and the projection sees them).

Each import is taken once per (user, source, external id) in `bank_imports`: a re-delivery records
nothing. Income the person already entered for the same payment — same net amount, currency and day, on
the import's account or on none, not yet linked to an import — is MATCHED instead of duplicated: linked,
given the account if it had none, and announced as `income.updated` carrying the import reference.

When the bank later changes the transaction (`account.transaction_revised`) the income created from it
takes the new amount, day and description (`income.updated`); when the bank drops it
(`account.transaction_removed`) that income is deleted (`income.deleted`); either way the projection's
inputs change. Income the person entered and the import was matched to stays as they wrote it: a revision
is only logged, a removal only unlinks it. The taken row stays (its link set to null), so a redelivered
import records nothing.
"""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, case, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from pfms_contracts.accounts import TransactionImported, TransactionRemoved, TransactionRevised
from pfms_contracts.income import IncomeReceived, IncomeUpdated
from pfms_finance.currency import quantize
from pfms_income import payloads, store
from pfms_income.domain import IncomeType
from pfms_income.models import IncomeTransaction
from pfms_platform.db import Base
from pfms_platform.events.outbox import emit
from pfms_platform.imports import ImportedRecord, description, reference, take, taken
from pfms_platform.logging import get_logger
from pfms_platform.metrics import INCOME_RECORDED

log = get_logger(__name__)


class BankImport(ImportedRecord, Base):
    """An imported transaction taken (one per user, source and provider id) and the income it is."""

    __tablename__ = "income_bank_imports"
    __table_args__ = (Index("ix_income_bank_imports_income_id", "income_id"),)

    matched: Mapped[bool] = mapped_column(comment="Linked to income entered before the import")
    income_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("income_transactions.id", ondelete="SET NULL"))


def _facts(row: IncomeTransaction, data: TransactionImported) -> dict[str, Any]:
    return {**payloads.facts(row), "import_ref": reference(data)}


async def on_transaction_imported(session: AsyncSession, data: TransactionImported) -> None:
    if data.direction != "credit":
        return  # money out: the expense service's
    record = await take(session, BankImport, data)
    if record is None:
        return  # imported before
    match = await _entered_twin(session, data)
    if match is not None:
        previous = (match.net_amount, match.currency, match.date)
        match.account_id = match.account_id or data.account_id
        record.income_id, record.matched = match.id, True
        await session.flush()
        net, currency, received = previous
        await emit(
            session,
            IncomeUpdated(
                **_facts(match, data),
                previous_net_amount=net,
                previous_currency=currency,
                previous_received_date=received,
            ),
        )
        log.info("import matched an income", income_id=str(match.id), source=data.source)
    else:
        row = IncomeTransaction(
            id=uuid.uuid4(),
            user_id=data.user_id,
            type=IncomeType.OTHER.value,
            amount=data.amount,
            tax_deducted=Decimal(0),
            net_amount=data.amount,
            currency=data.currency,
            date=data.occurred_on,
            description=description(data),
            payment_method="bank",
            account_id=data.account_id,
            meta={"merchant": data.merchant, "import": {"source": data.source, "external_id": data.external_id}},
        )
        session.add(row)
        await session.flush()
        record.income_id = row.id
        await emit(session, IncomeReceived(**_facts(row, data)))
        INCOME_RECORDED.labels("income").inc()
    await store.bump(session, data.user_id)  # the projection's inputs changed


async def on_transaction_revised(session: AsyncSession, data: TransactionRevised) -> None:
    if data.direction != "credit":
        return
    record = await taken(session, BankImport, data.user_id, data.source, data.external_id)
    if record is None or record.income_id is None:
        return  # never taken here, or its income is gone
    if record.matched:
        log.info("a revised import left the income the person entered alone", income_id=str(record.income_id))
        return
    row = await session.get_one(IncomeTransaction, record.income_id, with_for_update=True)
    label = description(data)
    if (row.net_amount, row.date, row.description) == (data.amount, data.occurred_on, label):
        return  # nothing the income shows changed (or a redelivery)
    if row.currency != data.currency:
        log.warning("a revised import changed currency: ignored", income_id=str(row.id))
        return
    net, currency, received = quantize(row.net_amount, row.currency), row.currency, row.date
    row.amount = row.net_amount = data.amount
    row.date, row.description = data.occurred_on, label
    row.meta = {**row.meta, "merchant": data.merchant}
    await session.flush()
    await emit(
        session,
        IncomeUpdated(
            **_facts(row, data), previous_net_amount=net, previous_currency=currency, previous_received_date=received
        ),
    )
    await store.bump(session, data.user_id)


async def on_transaction_removed(session: AsyncSession, data: TransactionRemoved) -> None:
    record = await taken(session, BankImport, data.user_id, data.source, data.external_id)
    if record is None or record.income_id is None:
        return  # never taken here (a debit), or already gone
    income_id, record.income_id = record.income_id, None
    if record.matched:
        log.info("a removed import unlinked the income the person entered", income_id=str(income_id))
        return
    row = await session.get_one(IncomeTransaction, income_id, with_for_update=True)
    await emit(session, payloads.deleted(row))
    await session.delete(row)
    await session.flush()
    await store.bump(session, data.user_id)


async def forget(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deleted person's taken imports (they outlive their income)."""
    await session.execute(delete(BankImport).where(BankImport.user_id == user_id))


async def _entered_twin(session: AsyncSession, data: TransactionImported) -> IncomeTransaction | None:
    """The person's own record of this payment: same net amount, currency and day, on this account
    (preferred) or none, not yet linked to an import; the oldest first."""
    linked = exists().where(BankImport.income_id == IncomeTransaction.id)
    twin: IncomeTransaction | None = await session.scalar(
        select(IncomeTransaction)
        .where(
            IncomeTransaction.user_id == data.user_id,
            IncomeTransaction.space_id.is_(None),
            IncomeTransaction.net_amount == data.amount,
            IncomeTransaction.currency == data.currency,
            IncomeTransaction.date == data.occurred_on,
            (IncomeTransaction.account_id == data.account_id) | IncomeTransaction.account_id.is_(None),
            ~linked,
        )
        .order_by(case((IncomeTransaction.account_id.is_(None), 1), else_=0), IncomeTransaction.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return twin
