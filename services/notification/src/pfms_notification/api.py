"""HTTP routes of the in-app inbox, the live stream, the quiet hours and digest in force, and push devices.

Every query is scoped to the caller: another person's notification or device answers 404.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.notification import NotificationRead
from pfms_notification.live import LiveHub
from pfms_notification.models import Delivery, Device, Notification, Recipient
from pfms_notification.schemas import (
    DeliveryOut,
    DeviceIn,
    DeviceOut,
    NotificationDetail,
    NotificationOut,
    ReadAll,
    SettingsOut,
    UnreadCount,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.reads import Reads, json_response
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such item of the caller's"}}
STREAM_PATH = "/api/v1/notifications/stream"


def _inbox(user: uuid.UUID) -> Any:
    return (Notification.user_id == user) & Notification.in_app.is_(True)


async def _owned(session: AsyncSession, user: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    row = await session.scalar(select(Notification).where(_inbox(user), Notification.id == notification_id))
    if row is None:
        raise NotFound("Notification not found")
    return row


@router.get("", response_model=PageEnvelope[NotificationOut])
async def list_notifications(
    user: CurrentUser,
    session: Session,
    page: Annotated[PageParams, Depends()],
    unread: Annotated[bool | None, Query(description="true: only unread; false: only read")] = None,
    category: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """Newest first."""
    where = [_inbox(user)]
    if unread is not None:
        where.append(Notification.read_at.is_(None) if unread else Notification.read_at.is_not(None))
    if category is not None:
        where.append(Notification.category == category)
    total = await session.scalar(select(func.count()).select_from(Notification).where(*where)) or 0
    rows = await session.scalars(
        select(Notification)
        .where(*where)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([NotificationOut.of(r).model_dump(mode="json") for r in rows], page, total)


UNREAD_COUNT = "SELECT count(*) FROM notifications WHERE user_id = $1 AND in_app AND read_at IS NULL"
"""`_inbox` and unread, answered by `ix_notifications_user_unread`."""


@router.get("/unread-count", response_model=Envelope[UnreadCount])
async def unread_count(user: CurrentUser, reads: Reads) -> Response:
    """A hot read (polled by every client): one statement on the read pool (pfms_platform.reads)."""
    return json_response(ok({"unread": await reads.fetchval(UNREAD_COUNT, user)}))


@router.post("/read-all", response_model=Envelope[ReadAll])
async def read_all(user: CurrentUser, session: Session) -> dict[str, Any]:
    """Marks every unread item read; publishes one notification.read with their ids."""
    now = datetime.now(UTC)
    ids = list(
        (
            await session.scalars(
                update(Notification)
                .where(_inbox(user), Notification.read_at.is_(None))
                .values(read_at=now)
                .returning(Notification.id)
            )
        ).all()
    )
    if ids:
        await emit(session, NotificationRead(user_id=user, notification_ids=ids, all_unread=True, read_at=now))
    return ok({"marked": len(ids)})


@router.get(
    "/stream",
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
    response_class=StreamingResponse,
)
async def stream(
    user: CurrentUser, request: Request, last_event_id: Annotated[uuid.UUID | None, Header()] = None
) -> StreamingResponse:
    """New in-app notifications as server-sent events (`event: notification`, `id:` = notification id);
    a reconnecting client sends `Last-Event-ID` and gets what it missed."""
    hub: LiveHub = request.app.state.live
    settings = request.app.state.settings
    return StreamingResponse(
        hub.stream(request.app.state.db, user, last_event_id, settings.stream_heartbeat_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _settings(row: Recipient | None) -> dict[str, Any]:
    if row is None:
        return {"timezone": "UTC", "quiet_hours": None, "digest": False}
    quiet = {"start": row.quiet_start, "end": row.quiet_end} if row.quiet_start and row.quiet_end else None
    return SettingsOut(timezone=row.timezone, quiet_hours=quiet, digest=row.digest).model_dump(mode="json")


@router.get("/settings", response_model=Envelope[SettingsOut])
async def get_settings(user: CurrentUser, session: Session) -> dict[str, Any]:
    """Quiet hours (in the profile's time zone) and the digest choice, as last heard from the user service.

    The person sets them at `PUT /api/v1/user/preferences/delivery`; `user.updated` brings them here."""
    return ok(_settings(await session.get(Recipient, user)))


@router.get("/devices", response_model=Envelope[list[DeviceOut]])
async def list_devices(user: CurrentUser, session: Session) -> dict[str, Any]:
    rows = await session.scalars(select(Device).where(Device.user_id == user).order_by(Device.created_at))
    return ok([DeviceOut.model_validate(r).model_dump(mode="json") for r in rows])


@router.post("/devices", status_code=status.HTTP_201_CREATED, response_model=Envelope[DeviceOut])
async def register_device(body: DeviceIn, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Registers a push token; registering the same token again answers the existing device."""
    statement = insert(Device).values(id=uuid.uuid4(), user_id=user, token=body.token, platform=body.platform)
    row_id = await session.scalar(
        statement.on_conflict_do_update(
            index_elements=[Device.user_id, Device.token], set_={"platform": statement.excluded.platform}
        ).returning(Device.id)
    )
    row = await session.get(Device, row_id)
    return ok(DeviceOut.model_validate(row).model_dump(mode="json"))


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def remove_device(device_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    gone = await session.scalar(
        delete(Device).where(Device.user_id == user, Device.id == device_id).returning(Device.id)
    )
    if gone is None:
        raise NotFound("Device not found")


@router.get("/{notification_id}", response_model=Envelope[NotificationDetail], responses=NOT_FOUND)
async def get_notification(notification_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """One notification with its delivery log per channel."""
    row = await _owned(session, user, notification_id)
    deliveries = await session.scalars(
        select(Delivery).where(Delivery.notification_id == row.id).order_by(Delivery.channel)
    )
    detail = NotificationDetail(
        **NotificationOut.of(row).model_dump(), deliveries=[DeliveryOut.model_validate(d) for d in deliveries]
    )
    return ok(detail.model_dump(mode="json"))


@router.post("/{notification_id}/read", response_model=Envelope[NotificationOut], responses=NOT_FOUND)
async def mark_read(notification_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Idempotent: reading a read notification changes nothing and publishes nothing."""
    row = await _owned(session, user, notification_id)
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
        await emit(session, NotificationRead(user_id=user, notification_ids=[row.id], read_at=row.read_at))
    return ok(NotificationOut.of(row).model_dump(mode="json"))


@router.delete("/{notification_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_notification(notification_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    gone = await session.scalar(
        delete(Notification).where(_inbox(user), Notification.id == notification_id).returning(Notification.id)
    )
    if gone is None:
        raise NotFound("Notification not found")
