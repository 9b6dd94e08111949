"""Events the income service consumes: expenses and recurring expenses feed its projection read model.

The service never reads the expense database: it keeps its own copy of what the projection needs.
Handlers are idempotent (upserts keyed by the producer's id, tombstones for deletions) and bump the
user's projection-input version in the same transaction, which retires any cached projection.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.accounts import TransactionImported, TransactionRemoved, TransactionRevised
from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated, RecurringExpenseChanged
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_contracts.loan import LoanInstalmentDue, LoanPaymentMade
from pfms_finance.currency import normalise_currency
from pfms_finance.recurrence import Frequency
from pfms_income import bank_imports, store
from pfms_income.domain import OutflowKind
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_platform.spaces import forget_member, space_handlers, space_of

log = get_logger(__name__)


async def on_expense_saved(session: AsyncSession, data: ExpenseCreated | ExpenseUpdated) -> None:
    if space_of(data) is not None:
        return  # a shared space's spending, not the person's: the projection is personal
    await store.record_expense(
        session,
        data.user_id,
        data.expense_id,
        amount=data.amount,
        currency=data.currency,
        expense_date=data.expense_date,
        category_id=data.category_id,
        recurring_expense_id=data.recurring_expense_id,
    )


async def on_expense_deleted(session: AsyncSession, data: ExpenseDeleted) -> None:
    await store.forget_expense(
        session,
        data.user_id,
        data.expense_id,
        amount=data.amount,
        currency=data.currency,
        expense_date=data.expense_date,
        category_id=data.category_id,
    )


async def on_recurring_changed(session: AsyncSession, data: RecurringExpenseChanged) -> None:
    """Created, edited, paused, resumed or deleted: the payload is the whole schedule (a space's: not projected)."""
    if space_of(data) is not None:
        return
    await store.record_outflow(
        session,
        data.user_id,
        OutflowKind.RECURRING_EXPENSE,
        data.recurring_expense_id,
        amount=data.amount,
        currency=data.currency,
        frequency=Frequency(data.frequency).value,  # an unknown one fails loudly (dead-lettered), not later
        start_date=data.start_date,
        next_due_date=data.next_due_date,
        end_date=data.end_date,
        inflation_rate=data.inflation_rate,
        description=data.description,
        active=data.active and not data.deleted,
        deleted=data.deleted,
    )


async def on_instalment_due(session: AsyncSession, data: LoanInstalmentDue) -> None:
    """An instalment the user repays (borrowed) is an outflow on its due date; one repaid to the user
    (lent) is expected income. Announced again after a regeneration, with what is still owed."""
    kind = OutflowKind.LOAN_INSTALMENT if data.direction == "borrowed" else OutflowKind.LOAN_REPAYMENT
    await store.record_outflow(
        session,
        data.user_id,
        kind,
        data.instalment_id,
        amount=data.amount,
        currency=data.currency,
        frequency=None,
        start_date=data.due_date,
        next_due_date=data.due_date,
        end_date=None,
        description=f"Loan instalment {data.installment_number}",
        active=data.amount > 0,
        loan_id=data.loan_id,
    )


async def on_loan_payment(session: AsyncSession, data: LoanPaymentMade) -> None:
    await store.apply_loan_payment(
        session,
        data.user_id,
        data.loan_id,
        data.amount - data.late_fee_paid,  # late fees were never projected
        paid_off=data.loan_status == "paid",
    )


async def on_user_updated(session: AsyncSession, data: UserUpdated) -> None:
    """The profile currency becomes the projection's default currency."""
    currency = data.changes.get("currency") if data.section == "profile" else None
    if not isinstance(currency, str):
        return
    try:
        await store.bump(session, data.user_id, currency=normalise_currency(currency))
    except ValueError:
        log.warning("ignored unknown profile currency", user_id=str(data.user_id))


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await store.purge(session, data.user_id)
    await bank_imports.forget(session, data.user_id)
    await forget_member(session, data.user_id)
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    ExpenseCreated.type: on_expense_saved,
    ExpenseUpdated.type: on_expense_saved,
    ExpenseDeleted.type: on_expense_deleted,
    RecurringExpenseChanged.type: on_recurring_changed,
    LoanInstalmentDue.type: on_instalment_due,
    LoanPaymentMade.type: on_loan_payment,
    TransactionImported.type: bank_imports.on_transaction_imported,
    TransactionRevised.type: bank_imports.on_transaction_revised,
    TransactionRemoved.type: bank_imports.on_transaction_removed,
    UserUpdated.type: on_user_updated,
    UserDeleted.type: on_user_deleted,
    **space_handlers(on_space_deleted=store.purge_space),
}
