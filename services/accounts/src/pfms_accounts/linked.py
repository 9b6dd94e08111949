"""Expenses and income of the other services that name an account, kept booked on that account.

An `expense.*` / `income.*` event carries the movement's whole new state; `settle` books the difference
between that and what the ledger holds for it (`linked_movements`): nothing for a repeated event, a
correction for a changed amount, a move for another account, a reversal for a deletion — one balanced
entry against the external counter-account of the account's books. The account must be of the movement's
scope — a personal expense on its owner's personal account, a space's expense (`space_id` on the event) on
that space's account — and in the movement's currency; otherwise nothing is booked (logged), since
converting would need the day's rate and the other service's amount is the truth in its own currency.
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
from pfms_platform.spaces import Scope

log = get_logger(__name__)


async def _target(session: AsyncSession, scope: Scope, account_id: uuid.UUID | None, currency: str) -> Account | None:
    if account_id is None:
        return None
    account = await session.scalar(
        select(Account).where(Account.id == account_id, scope.owns(Account), Account.type.not_in(domain.BOOKS_ONLY))
    )
    if account is None or account.currency != currency:
        log.warning("movement not booked: unknown account, another scope or currency", account_id=str(account_id))
        return None
    return account


async def settle(
    session: AsyncSession,
    user_id: uuid.UUID,
    ref: str,
    kind: EntryKind,
    account_id: uuid.UUID | None,
    amount: Decimal | None,
    currency: str,
    description: str,
    space_id: uuid.UUID | None = None,
) -> None:
    """Make the ledger hold `amount` (signed; None or a None account: nothing) on the account for `ref`; the
    account must be of the movement's space (`space_id`; None: the user's personal accounts)."""
    await session.execute(insert(LinkedMovement).values(source_ref=ref, user_id=user_id).on_conflict_do_nothing())
    row = await session.scalar(
        select(LinkedMovement)
        .where(LinkedMovement.source_ref == ref, LinkedMovement.user_id == user_id)
        .with_for_update()
    )
    if row is None or row.deleted:
        return
    scope = Scope(user_id, space_id, "member")
    target = await _target(session, scope, account_id, currency) if amount else None
    wanted = (target.id, amount, currency) if target else (None, None, None)
    if (row.account_id, row.amount, row.currency) == wanted:
        return
    legs: dict[uuid.UUID, list[Leg]] = {}  # by books owner: one entry each (one when both are on the same books)
    previous = await session.get(Account, row.account_id) if row.account_id is not None else None
    if previous is not None and row.amount and row.currency:
        books = ledger.owner(previous)
        edge = await ledger.external(session, books, row.currency)
        legs.setdefault(books, []).extend(domain.external_legs(previous.id, edge, row.currency, -row.amount))
    if target is not None and amount:
        books = ledger.owner(target)
        edge = await ledger.external(session, books, currency)
        legs.setdefault(books, []).extend(domain.external_legs(target.id, edge, currency, amount))
    for books, booked in legs.items():
        await ledger.book(session, books, kind, booked, description=description, enforce_floors=False)
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
