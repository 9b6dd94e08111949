"""Service-to-service routes (service token): send a notification now; the GDPR export.

Templates are edited by admins through the public routes in templates.py; these routes are never
exposed on the public prefix.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_notification.domain import Intent
from pfms_notification.planner import Planned, plan
from pfms_notification.schemas import SendIn, Sent
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
