"""The group's activity feed and the notifications members get about it."""

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.notification import NotificationRequested
from pfms_group.models import Activity, FinanceGroup
from pfms_platform.events.outbox import emit


async def record(
    session: AsyncSession,
    group_id: uuid.UUID,
    actor: uuid.UUID | None,
    action: str,
    subject_id: uuid.UUID | None = None,
    **details: Any,
) -> None:
    session.add(Activity(group_id=group_id, actor_id=actor, action=action, subject_id=subject_id, details=details))


async def notify(
    session: AsyncSession,
    group: FinanceGroup,
    recipients: Iterable[uuid.UUID],
    *,
    title: str,
    message: str,
    reference_type: str,
    reference_id: uuid.UUID,
    data: dict[str, Any] | None = None,
    key: str | None = None,
) -> None:
    """One `notification.requested` per recipient (sorted, so the outbox order is stable).

    `key` tells apart several notifications about the same subject (an edit, a deletion) in the dedupe key.
    """
    prefix = f"{reference_type}:{reference_id}:{key + ':' if key else ''}"
    for user_id in sorted(set(recipients)):
        await emit(
            session,
            NotificationRequested(
                user_id=user_id,
                category="group",
                title=title,
                message=message,
                reference_type=reference_type,
                reference_id=reference_id,
                action_url=f"/groups/{group.id}",
                dedupe_key=f"{prefix}{user_id}",
                data={"group_id": str(group.id), "group_name": group.name, **(data or {})},
            ),
        )
