"""Webhook endpoints of a person: register (secret shown once), edit, rotate, history, replay.

The URL is vetted at registration (https, resolves only to public addresses) and again at every
delivery (dispatch.py), so a host that later resolves into the private network gets nothing.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_notification import signing, ssrf
from pfms_notification.models import WebhookDelivery, WebhookEndpoint
from pfms_notification.schemas import (
    WebhookDeliveryOut,
    WebhookIn,
    WebhookOut,
    WebhookUpdate,
    WebhookWithSecret,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, NotFound
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/notifications/webhooks", tags=["webhooks"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such webhook of the caller's"}}
MAX_ENDPOINTS = 10


async def _owned(session: AsyncSession, user: uuid.UUID, webhook_id: uuid.UUID) -> WebhookEndpoint:
    row = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.user_id == user, WebhookEndpoint.id == webhook_id)
    )
    if row is None:
        raise NotFound("Webhook not found")
    return row


async def _vet(request: Request, url: str) -> None:
    await ssrf.resolve(url, allow_loopback_http=request.app.state.settings.webhook_allow_loopback_http)


def _out(row: WebhookEndpoint) -> dict[str, Any]:
    return WebhookOut.model_validate(row).model_dump(mode="json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[WebhookWithSecret])
async def create_webhook(body: WebhookIn, user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """The answer holds the signing secret; it is never shown again (rotate to get a new one)."""
    count = await session.scalar(select(func.count()).where(WebhookEndpoint.user_id == user))
    if (count or 0) >= MAX_ENDPOINTS:
        raise Conflict(f"At most {MAX_ENDPOINTS} webhooks per person")
    await _vet(request, str(body.url))
    row = WebhookEndpoint(
        id=uuid.uuid4(),
        user_id=user,
        url=str(body.url),
        event_types=sorted(set(body.event_types)),
        mode=body.mode,
        description=body.description,
        secret=signing.new_secret(),
        active=True,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return ok(WebhookWithSecret.model_validate(row).model_dump(mode="json"))


@router.get("", response_model=Envelope[list[WebhookOut]])
async def list_webhooks(user: CurrentUser, session: Session) -> dict[str, Any]:
    rows = await session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.user_id == user).order_by(WebhookEndpoint.created_at)
    )
    return ok([_out(r) for r in rows])


@router.get("/{webhook_id}", response_model=Envelope[WebhookOut], responses=NOT_FOUND)
async def get_webhook(webhook_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(_out(await _owned(session, user, webhook_id)))


@router.patch("/{webhook_id}", response_model=Envelope[WebhookOut], responses=NOT_FOUND)
async def update_webhook(
    webhook_id: uuid.UUID, body: WebhookUpdate, user: CurrentUser, session: Session, request: Request
) -> dict[str, Any]:
    row = await _owned(session, user, webhook_id)
    changes = body.changes()
    if body.url is not None:
        await _vet(request, str(body.url))
        row.url = str(body.url)
    if body.event_types is not None:
        row.event_types = sorted(set(body.event_types))
    for key in ("mode", "description", "active"):
        if changes.get(key) is not None:
            setattr(row, key, changes[key])
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return ok(_out(row))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_webhook(webhook_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    gone = await session.scalar(
        delete(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == user, WebhookEndpoint.id == webhook_id)
        .returning(WebhookEndpoint.id)
    )
    if gone is None:
        raise NotFound("Webhook not found")


@router.post("/{webhook_id}/rotate-secret", response_model=Envelope[WebhookWithSecret], responses=NOT_FOUND)
async def rotate_secret(webhook_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """A new secret, shown once; deliveries from now on are signed with it."""
    row = await _owned(session, user, webhook_id)
    row.secret = signing.new_secret()
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return ok(WebhookWithSecret.model_validate(row).model_dump(mode="json"))


@router.get("/{webhook_id}/deliveries", response_model=PageEnvelope[WebhookDeliveryOut], responses=NOT_FOUND)
async def deliveries(
    webhook_id: uuid.UUID, user: CurrentUser, session: Session, page: Annotated[PageParams, Depends()]
) -> dict[str, Any]:
    """Delivery history of the endpoint, newest first."""
    row = await _owned(session, user, webhook_id)
    where = WebhookDelivery.endpoint_id == row.id
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(where)) or 0
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(where)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([WebhookDeliveryOut.model_validate(r).model_dump(mode="json") for r in rows], page, total)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    response_model=Envelope[WebhookDeliveryOut],
    responses={**NOT_FOUND, 409: {"description": "Still pending"}},
)
async def replay(webhook_id: uuid.UUID, delivery_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Send a parked (or already delivered) event again, with a fresh set of tries."""
    endpoint = await _owned(session, user, webhook_id)
    row = await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.id == delivery_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("Delivery not found")
    if row.status == "pending":
        raise Conflict("This delivery is still being tried")
    row.status, row.attempts, row.next_attempt_at, row.last_error = "pending", 0, datetime.now(UTC), None
    await session.flush()
    return ok(WebhookDeliveryOut.model_validate(row).model_dump(mode="json"))
