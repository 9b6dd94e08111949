"""The accounts of shared spaces beyond the routes: a deleted space's books go, a deleted member's space
accounts stay with the space.

A space's ledger rows (entries, postings, counter-accounts) carry the space's id as their owner
(`ledger.owner`), so both purges are by owner, never by who happened to move the money.
"""

import uuid

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts.models import Account, JournalEntry
from pfms_platform.logging import get_logger

log = get_logger(__name__)


async def purge_space(session: AsyncSession, space_id: uuid.UUID) -> None:
    """Every account of a deleted space and its books: entries (their postings cascade), the space's
    accounts and counter-accounts (their quotes cascade)."""
    await session.execute(delete(JournalEntry).where(JournalEntry.user_id == space_id))
    await session.execute(delete(Account).where(or_(Account.space_id == space_id, Account.user_id == space_id)))
    log.info("space accounts purged", space_id=str(space_id))


async def release(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A deleted person's space accounts are the space's: they stay, no longer naming who opened them
    (`user_id` becomes the space's id, the owner of their books)."""
    mine = (Account.user_id == user_id, Account.space_id.is_not(None))
    await session.execute(update(Account).where(*mine).values(user_id=Account.space_id))
