"""Who may see and change a group: active members see it, viewers only read, admins manage.

Anyone else (a stranger, an invitee who has not accepted, a member who left) gets the same 404 as
for a group that does not exist, so ids cannot be probed.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_group.models import FinanceGroup, GroupMember, MemberStatus, Role
from pfms_platform.errors import Conflict, Forbidden, NotFound

GROUP_NOT_FOUND = "Group not found"


async def member(
    session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> tuple[FinanceGroup, GroupMember]:
    """The group and the caller's active membership; 404 for anyone who is not an active member."""
    query = (
        select(FinanceGroup, GroupMember)
        .join(GroupMember, GroupMember.group_id == FinanceGroup.id)
        .where(
            FinanceGroup.id == group_id,
            GroupMember.user_id == user_id,
            GroupMember.status == MemberStatus.ACTIVE.value,
        )
    )
    if lock:
        query = query.with_for_update(of=FinanceGroup)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(GROUP_NOT_FOUND)
    return row[0], row[1]


async def writer(
    session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> tuple[FinanceGroup, GroupMember]:
    """A member who may write: not a viewer, and the group not archived."""
    group, me = await member(session, group_id, user_id, lock=lock)
    if me.role == Role.VIEWER.value:
        raise Forbidden("Viewers cannot change the group")
    if not group.is_active:
        raise Conflict("The group is archived; an admin can reactivate it")
    return group, me


async def admin(
    session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> tuple[FinanceGroup, GroupMember]:
    group, me = await member(session, group_id, user_id, lock=lock)
    if me.role != Role.ADMIN.value:
        raise Forbidden("Only a group admin can do this")
    return group, me


async def active_members(session: AsyncSession, group_id: uuid.UUID) -> list[GroupMember]:
    query = (
        select(GroupMember)
        .where(GroupMember.group_id == group_id, GroupMember.status == MemberStatus.ACTIVE.value)
        .order_by(GroupMember.user_id)
    )
    return list((await session.scalars(query)).all())


async def membership_row(session: AsyncSession, group_id: uuid.UUID, user_id: uuid.UUID) -> GroupMember:
    """Any member row of the group (for admins acting on someone), locked; 404 if none."""
    row = await session.scalar(
        select(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id).with_for_update()
    )
    if row is None:
        raise NotFound("Member not found", field="user_id")
    return row
