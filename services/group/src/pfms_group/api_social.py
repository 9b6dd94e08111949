"""Routes for the group's chat and its activity feed."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from sqlalchemy import func, select

from pfms_group import access, feed
from pfms_group.models import Activity, GroupMessage, MessageType
from pfms_group.schemas import ActivityOut, Message, MessageCreate
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/groups", tags=["group chat and activity"])

Page = Annotated[PageParams, Depends()]


def message_out(row: GroupMessage) -> dict[str, Any]:
    return Message(
        id=row.id,
        user_id=row.user_id,
        message_type=row.message_type,
        content=row.content,
        metadata=row.extra,
        created_at=row.created_at,
    ).model_dump(mode="json")


@router.post("/{group_id}/messages", status_code=status.HTTP_201_CREATED, response_model=Envelope[Message])
async def post_message(group_id: uuid.UUID, body: MessageCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    group, _ = await access.writer(session, group_id, user)
    if not group.chat_enabled:
        raise Conflict("Chat is turned off for this group")
    row = GroupMessage(
        group_id=group_id, user_id=user, message_type=MessageType.TEXT.value, content=body.content, extra={}
    )
    session.add(row)
    await session.flush()
    await feed.record(session, group_id, user, "message.posted", row.id)
    return ok(message_out(row))


@router.get("/{group_id}/messages", response_model=PageEnvelope[Message])
async def list_messages(group_id: uuid.UUID, user: CurrentUser, session: Session, page: Page) -> dict[str, Any]:
    """Newest first."""
    await access.member(session, group_id, user)
    total = await session.scalar(
        select(func.count()).select_from(GroupMessage).where(GroupMessage.group_id == group_id)
    )
    rows = await session.scalars(
        select(GroupMessage)
        .where(GroupMessage.group_id == group_id)
        .order_by(GroupMessage.created_at.desc(), GroupMessage.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([message_out(r) for r in rows], page, int(total or 0))


@router.get("/{group_id}/activity", response_model=PageEnvelope[ActivityOut])
async def activity(group_id: uuid.UUID, user: CurrentUser, session: Session, page: Page) -> dict[str, Any]:
    """Every change to the group, newest first."""
    await access.member(session, group_id, user)
    total = await session.scalar(select(func.count()).select_from(Activity).where(Activity.group_id == group_id))
    rows = await session.scalars(
        select(Activity)
        .where(Activity.group_id == group_id)
        .order_by(Activity.created_at.desc(), Activity.id.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged(
        [ActivityOut.model_validate(r, from_attributes=True).model_dump(mode="json") for r in rows],
        page,
        int(total or 0),
    )
