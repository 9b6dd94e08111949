"""Events the group service consumes: a deleted account leaves the groups it was in.

The rule for `user.deleted` keeps every other member's ledger whole:
- groups where nobody else ever joined (invitations aside) are deleted outright;
- in other groups, a member with no ledger entries (no share, payment or confirmed settlement) is
  removed; one with entries stays as an anonymous `deleted` member (display name cleared), because
  the others' balances are computed from those entries; admins of groups left without one are
  replaced by the longest-standing active member;
- their messages, pending invitations, pending settlements and recurring schedules are deleted,
  and their id is cleared from the activity feed's actor column.
"""

import uuid

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserDeleted
from pfms_group.models import (
    Activity,
    ExpensePayer,
    ExpenseSplit,
    FinanceGroup,
    GroupMember,
    GroupMessage,
    MemberStatus,
    RecurringGroupExpense,
    Role,
    Settlement,
    SettlementStatus,
)
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger

log = get_logger(__name__)


async def _has_entries(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    settled = (
        (Settlement.group_id == group_id)
        & (Settlement.status == SettlementStatus.COMPLETED.value)
        & or_(Settlement.from_user_id == user_id, Settlement.to_user_id == user_id)
    )
    query = select(
        exists().where(ExpenseSplit.group_id == group_id, ExpenseSplit.user_id == user_id)
        | exists().where(ExpensePayer.group_id == group_id, ExpensePayer.user_id == user_id)
        | exists().where(settled)
    )
    return bool(await session.scalar(query))


async def _ensure_admin(session: AsyncSession, group_id: uuid.UUID) -> None:
    active = (
        await session.scalars(
            select(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.status == MemberStatus.ACTIVE.value)
            .order_by(GroupMember.joined_at, GroupMember.id)
        )
    ).all()
    if active and not any(m.role == Role.ADMIN.value for m in active):
        active[0].role = Role.ADMIN.value


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        delete(GroupMember).where(GroupMember.user_id == user_id, GroupMember.status == MemberStatus.INVITED.value)
    )
    await session.execute(delete(GroupMessage).where(GroupMessage.user_id == user_id))
    await session.execute(
        delete(Settlement).where(
            Settlement.status == SettlementStatus.PENDING.value,
            or_(Settlement.from_user_id == user_id, Settlement.to_user_id == user_id),
        )
    )
    await session.execute(delete(RecurringGroupExpense).where(RecurringGroupExpense.created_by == user_id))
    await session.execute(update(Activity).where(Activity.actor_id == user_id).values(actor_id=None))
    rows = (await session.scalars(select(GroupMember).where(GroupMember.user_id == user_id).with_for_update())).all()
    for row in rows:
        others = await session.scalar(
            select(
                exists().where(
                    GroupMember.group_id == row.group_id,
                    GroupMember.user_id != user_id,
                    GroupMember.status != MemberStatus.INVITED.value,
                )
            )
        )
        if not others:
            await session.execute(delete(FinanceGroup).where(FinanceGroup.id == row.group_id))
            continue
        if await _has_entries(session, row.group_id, user_id):
            row.status, row.display_name, row.role = MemberStatus.DELETED.value, None, Role.MEMBER.value
        else:
            await session.delete(row)
        await session.flush()
        await _ensure_admin(session, row.group_id)


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    await purge(session, data.user_id)
    log.info("user group data purged", user_id=str(data.user_id))


HANDLERS: dict[str, Handler] = {UserDeleted.type: on_user_deleted}
