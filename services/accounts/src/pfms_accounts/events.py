"""Events the accounts service consumes: expenses and income that name an account (booked on it), the
profile currency (net worth is shown in it), spaces' memberships and deletions.

Handlers are idempotent beyond the platform's inbox: a movement books only the difference to what the
ledger holds for it (`linked`), the currency is an upsert, the purge deletes whatever is left.
"""

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import card_spends, holdings, linked, payments, spaces
from pfms_accounts.domain import EntryKind
from pfms_accounts.models import (
    Account,
    Card,
    CardAuthorisation,
    FxQuote,
    Holder,
    IdempotencyKey,
    JournalEntry,
    LinkedMovement,
    Posting,
)
from pfms_accounts.sync import forget_user as forget_connections
from pfms_contracts.accounts import PaymentAccepted, PaymentCancelled, PaymentDeclined, PaymentFailed, PaymentSent
from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_contracts.income import IncomeDeleted, IncomeReceived, IncomeUpdated
from pfms_contracts.investment import InvestmentTransaction
from pfms_contracts.loan import LoanPaymentMade
from pfms_finance.currency import normalise_currency
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_platform.spaces import forget_member, space_handlers, space_of

log = get_logger(__name__)


async def on_expense(session: AsyncSession, data: ExpenseCreated | ExpenseUpdated) -> None:
    """Paid from the named account: the account goes down by the amount."""
    if data.import_ref is not None and data.import_ref.posted:
        await linked.booked_elsewhere(session, data.user_id, f"expense:{data.expense_id}")
        return  # recorded from an import that is on the ledger already (a card spend)
    if isinstance(data, ExpenseCreated) and data.account_id is None:
        return  # names no account: nothing to book (an update that names one books it then)
    if await card_spends.recognise(session, data):
        return  # a card spend's expense: booked when the card was authorised
    await linked.settle(
        session,
        data.user_id,
        f"expense:{data.expense_id}",
        EntryKind.EXPENSE,
        data.account_id,
        -data.amount,
        data.currency,
        data.description or "Expense",
        space_of(data),
    )


async def on_expense_deleted(session: AsyncSession, data: ExpenseDeleted) -> None:
    if await card_spends.recognise(session, data):
        return  # the card's money left the wallet all the same
    await linked.forget(session, data.user_id, f"expense:{data.expense_id}", EntryKind.EXPENSE)


async def on_income(session: AsyncSession, data: IncomeReceived | IncomeUpdated) -> None:
    """Paid into the named account: the account goes up by the net amount."""
    if data.import_ref is not None and data.import_ref.posted:
        await linked.booked_elsewhere(session, data.user_id, f"income:{data.income_id}")
        return  # recorded from an import that is on the ledger already
    if not isinstance(data, IncomeUpdated) and data.account_id is None:
        return  # names no account: nothing to book (an update that names one books it then)
    await linked.settle(
        session,
        data.user_id,
        f"income:{data.income_id}",
        EntryKind.INCOME,
        data.account_id,
        data.net_amount,
        data.currency,
        data.description or "Income",
        space_of(data),
    )


async def on_income_deleted(session: AsyncSession, data: IncomeDeleted) -> None:
    await linked.forget(session, data.user_id, f"income:{data.income_id}", EntryKind.INCOME)


async def on_user_updated(session: AsyncSession, data: UserUpdated) -> None:
    """The profile currency becomes the default currency of the net worth."""
    currency = data.changes.get("currency") if data.section == "profile" else None
    if not isinstance(currency, str):
        return
    try:
        code = normalise_currency(currency)
    except ValueError:
        log.warning("ignored unknown profile currency", user_id=str(data.user_id))
        return
    await session.execute(
        insert(Holder)
        .values(user_id=data.user_id, currency=code)
        .on_conflict_do_update(index_elements=[Holder.user_id], set_={"currency": code})
    )


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    """Every row of the person goes: cards and their authorisations, postings, entries, quotes, linked
    movements, accounts, keys, the currency."""
    await spaces.release(session, data.user_id)  # their space accounts stay with the space
    await forget_member(session, data.user_id)
    await forget_connections(session, data.user_id)  # bank connections (their accounts go below)
    await payments.forget_user(session, data.user_id)  # refunds what was held for them, then their payments go
    for model in (
        CardAuthorisation,
        Card,
        Posting,
        FxQuote,
        JournalEntry,
        LinkedMovement,
        Account,
        IdempotencyKey,
        Holder,
    ):
        await session.execute(delete(model).where(model.user_id == data.user_id))
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    ExpenseCreated.type: on_expense,
    ExpenseUpdated.type: on_expense,
    ExpenseDeleted.type: on_expense_deleted,
    IncomeReceived.type: on_income,
    IncomeUpdated.type: on_income,
    IncomeDeleted.type: on_income_deleted,
    UserUpdated.type: on_user_updated,
    UserDeleted.type: on_user_deleted,
    PaymentSent.type: payments.on_sent,
    PaymentAccepted.type: payments.on_accepted,
    PaymentDeclined.type: payments.on_declined,
    PaymentCancelled.type: payments.on_declined,
    PaymentFailed.type: payments.on_failed,
    LoanPaymentMade.type: holdings.on_loan_payment,
    InvestmentTransaction.type: holdings.on_investment_transaction,
    **space_handlers(on_space_deleted=spaces.purge_space),
}
