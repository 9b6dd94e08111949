"""Events the report service consumes: a deleted user's personal jobs go (their files are queued for
removal; what they did in a space stays the space's), the expenses and income of shared spaces are kept
for space reports, and space memberships are mirrored.

The upstream data exports are per person, so a space's monthly or custom report is made from
`space_entries`: every expense and income event that carries a `space_id` upserts its row (the
updated event is the new state; one without a space any more removes it), a deleted one removes it.
"""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeDeleted, IncomeReceived, IncomeUpdated
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_platform.spaces import forget_member, space_handlers, space_of
from pfms_report.domain import UNCATEGORISED
from pfms_report.models import ObjectPurge, ObjectRemoval, Report, SpaceEntry

log = get_logger(__name__)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    """Idempotent. The personal reports go now; the objects under the user's prefix are removed by the
    sweeper (object storage is not part of this transaction, so the request to remove them is). What they
    recorded or asked for in a shared space is the household's: their space entries and space reports stay
    (with their files, which the sweeper spares), so the space's reports stay whole."""
    await session.execute(delete(Report).where(Report.user_id == data.user_id, Report.space_id.is_(None)))
    await session.execute(insert(ObjectPurge).values(user_id=data.user_id).on_conflict_do_nothing())
    await forget_member(session, data.user_id)
    log.info("user reports purged", user_id=str(data.user_id))


async def purge_space(session: AsyncSession, space_id: uuid.UUID) -> None:
    """A deleted space: its reports and entries go now, its stored files are queued for the sweeper."""
    keys = select(Report.object_key).where(Report.space_id == space_id, Report.object_key.is_not(None))
    await session.execute(
        insert(ObjectRemoval).from_select(["object_key"], keys).on_conflict_do_nothing(index_elements=["object_key"])
    )
    await session.execute(delete(Report).where(Report.space_id == space_id))
    await session.execute(delete(SpaceEntry).where(SpaceEntry.space_id == space_id))
    log.info("space reports purged", space_id=str(space_id))


async def _keep(
    session: AsyncSession,
    kind: str,
    entry_id: uuid.UUID,
    space_id: uuid.UUID | None,
    user_id: uuid.UUID,
    day: date,
    amount: Decimal,
    currency: str,
    label: str,
) -> None:
    """The entry's newest state: upserted while it belongs to a space, removed once it does not."""
    if space_id is None:
        await _forget(session, kind, entry_id)
        return
    values = {
        "space_id": space_id,
        "user_id": user_id,
        "day": day,
        "amount": amount,
        "currency": currency.upper(),
        "label": label[:100],
    }
    stmt = insert(SpaceEntry).values(kind=kind, entry_id=entry_id, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["kind", "entry_id"], set_=values))


async def _forget(session: AsyncSession, kind: str, entry_id: uuid.UUID) -> None:
    await session.execute(delete(SpaceEntry).where(SpaceEntry.kind == kind, SpaceEntry.entry_id == entry_id))


async def on_expense(session: AsyncSession, data: ExpenseCreated | ExpenseUpdated) -> None:
    if isinstance(data, ExpenseCreated) and space_of(data) is None:
        return  # a new personal expense: no entry to keep, none to remove
    label = data.category_name or UNCATEGORISED
    await _keep(
        session,
        "expense",
        data.expense_id,
        space_of(data),
        data.user_id,
        data.expense_date,
        data.amount,
        data.currency,
        label,
    )


async def on_expense_deleted(session: AsyncSession, data: ExpenseDeleted) -> None:
    await _forget(session, "expense", data.expense_id)


async def on_income(session: AsyncSession, data: IncomeReceived | IncomeUpdated) -> None:
    if not isinstance(data, IncomeUpdated) and space_of(data) is None:
        return  # a new personal income: no entry to keep, none to remove
    await _keep(
        session,
        "income",
        data.income_id,
        space_of(data),
        data.user_id,
        data.received_date,
        data.amount,
        data.currency,
        data.source_type or "other",
    )


async def on_income_deleted(session: AsyncSession, data: IncomeDeleted) -> None:
    await _forget(session, "income", data.income_id)


HANDLERS: dict[str, Handler] = {
    UserDeleted.type: on_user_deleted,
    ExpenseCreated.type: on_expense,
    ExpenseUpdated.type: on_expense,
    ExpenseDeleted.type: on_expense_deleted,
    IncomeReceived.type: on_income,
    IncomeUpdated.type: on_income,
    IncomeDeleted.type: on_income_deleted,
    **space_handlers(on_space_deleted=purge_space),
}
