"""Expenses and income of the other services that name an account, kept booked on that account.

An `expense.*` / `income.*` event carries the movement's whole new state; `settle` books the difference
between that and what the ledger holds for it (`linked_movements`): nothing for a repeated event, a
correction for a changed amount, a move for another account, a reversal for a deletion — one balanced
entry against the person's external counter-account. The account must be the event user's own and in
the movement's currency; otherwise nothing is booked (logged), since converting would need the day's
rate and the other service's amount is the truth in its own currency.
"""

import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import domain, ledger
from pfms_accounts.domain import EntryKind, Leg
from pfms_accounts.models import Account, LinkedMovement
from pfms_platform.logging import get_logger

log = get_logger(__name__)


async def _target(
    session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID | None, currency: str
) -> uuid.UUID | None:
    if account_id is None:
        return None
    account = await session.scalar(
        select(Account).where(
            Account.id == account_id, Account.user_id == user_id, Account.type.not_in(domain.BOOKS_ONLY)
        )
    )
    if account is None or account.currency != currency:
        log.warning("movement not booked: unknown account or another currency", account_id=str(account_id))
        return None
    return account.id


async def settle(
    session: AsyncSession,
    user_id: uuid.UUID,
    ref: str,
    kind: EntryKind,
    account_id: uuid.UUID | None,
    amount: Decimal | None,
    currency: str,
    description: str,
) -> None:
    """Make the ledger hold `amount` (signed; None or a None account: nothing) on the account for `ref`."""
    await session.execute(insert(LinkedMovement).values(source_ref=ref, user_id=user_id).on_conflict_do_nothing())
    row = await session.scalar(
        select(LinkedMovement)
        .where(LinkedMovement.source_ref == ref, LinkedMovement.user_id == user_id)
        .with_for_update()
    )
    if row is None or row.deleted:
        return
    target = await _target(session, user_id, account_id, currency) if amount else None
    wanted = (target, amount, currency) if target else (None, None, None)
    if (row.account_id, row.amount, row.currency) == wanted:
        return
    legs: list[Leg] = []
    if row.account_id is not None and row.amount and row.currency:
        edge = await ledger.external(session, user_id, row.currency)
        legs += domain.external_legs(row.account_id, edge, row.currency, -row.amount)
    if target is not None and amount:
        legs += domain.external_legs(target, await ledger.external(session, user_id, currency), currency, amount)
    await ledger.book(session, user_id, kind, legs, description=description, enforce_floors=False)
    row.account_id, row.amount, row.currency = wanted


async def forget(session: AsyncSession, user_id: uuid.UUID, ref: str, kind: EntryKind) -> None:
    """Reverse what was booked for `ref` and keep a tombstone."""
    await settle(session, user_id, ref, kind, None, None, "", "Deleted")
    await session.execute(
        insert(LinkedMovement)
        .values(source_ref=ref, user_id=user_id, deleted=True)
        .on_conflict_do_update(index_elements=[LinkedMovement.source_ref], set_={"deleted": True})
    )


async def booked_elsewhere(session: AsyncSession, user_id: uuid.UUID, ref: str) -> None:
    """The movement is on the ledger already (a card spend, booked when authorised): a tombstone for `ref`
    makes this and every later event about it book nothing."""
    await session.execute(
        insert(LinkedMovement).values(source_ref=ref, user_id=user_id, deleted=True).on_conflict_do_nothing()
    )
