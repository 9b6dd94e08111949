"""Service-to-service routes (service token): send a notification now, and edit templates (admin).

The fleet has no admin role in user tokens, so templates are edited by an operator tool or
service holding a service token; these routes are never exposed on the public prefix.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_notification import domain
from pfms_notification.domain import Category, Channel, Intent
from pfms_notification.models import Template
from pfms_notification.planner import Planned, plan
from pfms_notification.schemas import SendIn, Sent, TemplateIn, TemplateOut
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.export import Rows, user_rows
from pfms_platform.security import CallingService

router = APIRouter(prefix="/internal/v1/notifications", tags=["internal"])

WITHHELD = {"webhook_endpoints": "secret", "notification_deliveries": "body"}
"""Left out of the GDPR export: a signing secret (shown once) and rendered mails that may carry one-time links."""


async def export(session: AsyncSession, user_id: uuid.UUID) -> Rows:
    """The person's rows in every table, less what must never leave again (WITHHELD)."""
    tables = await user_rows(session, user_id, "pfms_notification")
    for table, column in WITHHELD.items():
        for row in tables.get(table, []):
            row.pop(column, None)
    return tables


@router.post("/send", status_code=status.HTTP_201_CREATED, response_model=Envelope[Sent])
async def send(body: SendIn, caller: CallingService, session: Session) -> dict[str, Any]:
    """The synchronous form of `notification.requested`: stored and scheduled before the answer."""
    intent = Intent(
        user_id=body.user_id,
        category=body.category.value,
        key="notification.requested",
        title=body.title,
        message=body.message,
        priority=body.priority,
        reference_type=body.reference_type,
        reference_id=body.reference_id,
        action_url=body.action_url,
        dedupe_key=body.dedupe_key,
        data=dict(body.data),
    )
    created = await plan(session, [Planned(intent, str(uuid.uuid4()), "notification.requested")], datetime.now(UTC))
    return ok({"created": created == 1})


@router.get("/templates", response_model=Envelope[list[TemplateOut]])
async def list_templates(caller: CallingService, session: Session) -> dict[str, Any]:
    rows = await session.scalars(select(Template).order_by(Template.category, Template.key, Template.channel))
    return ok([TemplateOut.model_validate(r).model_dump(mode="json") for r in rows])


@router.put("/templates/{category}/{channel}/{key}", response_model=Envelope[TemplateOut])
async def put_template(
    category: Category, channel: Channel, key: str, body: TemplateIn, caller: CallingService, session: Session
) -> dict[str, Any]:
    """Create or replace one template; it must render in the sandbox (422 naming `subject`/`body`)."""
    domain.check_template(body.subject, "subject")
    domain.check_template(body.body, "body")
    statement = insert(Template).values(
        id=uuid.uuid4(), category=category.value, channel=channel.value, key=key, subject=body.subject, body=body.body
    )
    row_id = await session.scalar(
        statement.on_conflict_do_update(
            constraint="uq_notification_templates_ck",
            set_={"subject": body.subject, "body": body.body, "updated_at": datetime.now(UTC)},
        ).returning(Template.id)
    )
    row = await session.scalar(select(Template).where(Template.id == row_id).execution_options(populate_existing=True))
    return ok(TemplateOut.model_validate(row).model_dump(mode="json"))
