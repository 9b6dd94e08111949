"""The user's part of the GDPR export: the default per-user tables plus the spaces they are in."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.export import Rows, rows, user_rows
from pfms_user.spaces.models import Member, Space


async def export(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    """Every table with a `user_id` (profile, preferences, `space_memberships` with the roles) and the
    `spaces` those memberships point at."""
    tables = await user_rows(session, user_id, "pfms_user")
    joined = select(Member.space_id).where(Member.user_id == user_id)
    tables["spaces"] = await rows(session, select(Space.__table__).where(Space.id.in_(joined)).order_by(Space.id))
    return tables
