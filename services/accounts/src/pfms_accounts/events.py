"""Events the accounts service consumes: the profile currency (net worth is shown in it) and deletions.

Handlers are idempotent beyond the platform's inbox: the currency is an upsert, the purge deletes
whatever is left.
"""

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts.models import Account, FxQuote, Holder, IdempotencyKey, JournalEntry, Posting
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_finance.currency import normalise_currency
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger

log = get_logger(__name__)


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
    """Every row of the person goes: postings, entries, quotes, accounts, keys, the currency."""
    for model in (Posting, FxQuote, JournalEntry, Account, IdempotencyKey, Holder):
        await session.execute(delete(model).where(model.user_id == data.user_id))
    log.info("user data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {
    UserUpdated.type: on_user_updated,
    UserDeleted.type: on_user_deleted,
}
