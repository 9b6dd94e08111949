"""Events the notification service consumes: people's addresses and switches, and what they should hear.

Identity events keep `recipients` and `channel_preferences` in step with the user service. Every
other type has an intent builder (intents.py); the intake applies those in batches (intake.py),
and the handler here is the same path for a single event.
"""

import uuid
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts import EventData
from pfms_contracts.identity import UserCreated, UserDeleted, UserUpdated
from pfms_notification.domain import Category, Channel
from pfms_notification.intents import BUILDERS
from pfms_notification.models import (
    ChannelPreference,
    Device,
    Notification,
    Recipient,
    WebhookEndpoint,
)
from pfms_notification.planner import Planned, plan
from pfms_platform.events import causation
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger

log = get_logger(__name__)


def planned(data: EventData, event_id: str) -> list[Planned]:
    return [Planned(intent, event_id, data.type) for intent in BUILDERS[data.type](data)]


async def on_person_event(session: AsyncSession, data: EventData) -> None:
    """One event on its own (the intake batches many through the same `plan`)."""
    ids = causation.chain()
    await plan(session, planned(data, ids[-1] if ids else str(uuid.uuid4())), datetime.now(UTC))


async def upsert_recipient(session: AsyncSession, user_id: uuid.UUID, values: dict[str, Any]) -> None:
    await session.execute(
        insert(Recipient)
        .values(user_id=user_id, **values)
        .on_conflict_do_update(index_elements=[Recipient.user_id], set_={**values, "updated_at": datetime.now(UTC)})
    )


async def on_user_created(session: AsyncSession, data: UserCreated) -> None:
    await upsert_recipient(session, data.user_id, {"email": data.email.strip().lower()})


def _clock(value: Any) -> time | None:
    return time.fromisoformat(value) if isinstance(value, str) else None


def recipient_changes(section: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The columns of `recipients` a user.updated section carries (unknown keys are someone else's)."""
    values: dict[str, Any] = {}
    if section == "profile":
        for key in ("email", "phone", "timezone"):
            if key in changes:
                values[key] = changes[key]
    if section == "notifications":
        if "quiet_hours" in changes:
            quiet = changes["quiet_hours"] or {}
            values["quiet_start"], values["quiet_end"] = _clock(quiet.get("start")), _clock(quiet.get("end"))
        if "digest" in changes:
            values["digest"] = bool(changes["digest"])
    if values.get("timezone") is None:
        values.pop("timezone", None)
    return values


async def on_user_updated(session: AsyncSession, data: UserUpdated) -> None:
    values = recipient_changes(data.section, data.changes)
    if values:
        await upsert_recipient(session, data.user_id, values)
    if data.section != "notifications":
        return
    switches = [
        {"user_id": data.user_id, "channel": p["channel"], "category": p["category"], "enabled": bool(p["enabled"])}
        for p in data.changes.get("preferences", [])
        if p.get("channel") in Channel._value2member_map_ and p.get("category") in Category._value2member_map_
    ]
    if switches:
        statement = insert(ChannelPreference).values(switches)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[ChannelPreference.user_id, ChannelPreference.channel, ChannelPreference.category],
                set_={"enabled": statement.excluded.enabled},
            )
        )


async def on_user_deleted(session: AsyncSession, data: UserDeleted) -> None:
    """Every row about the person; deliveries and webhook history go with their parents (cascade)."""
    for model in (Notification, WebhookEndpoint, Device, ChannelPreference, Recipient):
        await session.execute(delete(model).where(model.user_id == data.user_id))
    log.info("user data purged", user_id=str(data.user_id))


IDENTITY: dict[str, Handler] = {
    UserCreated.type: on_user_created,
    UserUpdated.type: on_user_updated,
    UserDeleted.type: on_user_deleted,
}

HANDLERS: dict[str, Handler] = {**IDENTITY, **dict.fromkeys(BUILDERS, on_person_event)}
