"""Events the expense service consumes: the user's lifecycle, spaces' memberships, and changes other
services ask for."""

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.accounts import TransactionImported, TransactionRemoved, TransactionRevised
from pfms_contracts.expense import ExpenseAmendRequested, ExpenseCategorized, ExpenseCreateRequested
from pfms_contracts.identity import UserCreated, UserDeleted, UserUpdated
from pfms_expense import bank_imports, conversion, requests, store
from pfms_finance.currency import normalise_currency
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_platform.spaces import forget_member, space_handlers

log = get_logger(__name__)


async def on_user_created(session: AsyncSession, data: UserCreated) -> None:
    """Default categories and settings; a no-op for a user already known."""
    made = await store.create_defaults(session, data.user_id)
    log.info("defaults created" if made else "defaults already exist", user_id=str(data.user_id))


async def on_user_updated(session: AsyncSession, data: UserUpdated) -> None:
    """Keep the profile currency that summaries are shown in."""
    currency = data.changes.get("currency") if data.section == "profile" else None
    if isinstance(currency, str):
        try:
            code = normalise_currency(currency)
        except ValueError:
            log.warning("ignored an unknown currency from user.updated", user_id=str(data.user_id))
            return
        await store.set_currency(session, data.user_id, code)
        # Converted into the old currency: unconverted again, the conversion job redoes them.
        await conversion.forget(session, data.user_id, code)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await store.purge(session, data.user_id)
    await bank_imports.forget(session, data.user_id)
    await forget_member(session, data.user_id)
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    UserCreated.type: on_user_created,
    UserUpdated.type: on_user_updated,
    UserDeleted.type: on_user_deleted,
    ExpenseCategorized.type: requests.on_categorized,
    ExpenseAmendRequested.type: requests.on_amend_requested,
    ExpenseCreateRequested.type: requests.on_create_requested,
    TransactionImported.type: bank_imports.on_transaction_imported,
    TransactionRevised.type: bank_imports.on_transaction_revised,
    TransactionRemoved.type: bank_imports.on_transaction_removed,
    **space_handlers(on_space_deleted=store.purge_space),
}
