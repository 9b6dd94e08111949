"""Intents → stored notifications, delivery rows and webhook deliveries, in bulk, in the caller's transaction.

A batch of intents costs a fixed handful of statements whatever its size: one read each of
recipients, switches, templates and webhook endpoints, then one multi-row insert per table. In-app
clients are woken with one `pg_notify` per few hundred people, sent only if the transaction commits.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts import CloudEvent
from pfms_notification import domain
from pfms_notification.domain import SENT_CHANNELS, Channel, Intent
from pfms_notification.intents import SECRET_KEYS
from pfms_notification.models import (
    ChannelPreference,
    Delivery,
    Device,
    Notification,
    Recipient,
    Template,
    WebhookDelivery,
    WebhookEndpoint,
)

LIVE_CHANNEL = "pfms_notification_live"
_NOTIFY_CHUNK = 200  # user ids per pg_notify payload (8000-byte limit)
WEBHOOK_SOURCE = "/pfms/notification"

Switches = dict[tuple[str, str], bool]


@dataclass(frozen=True)
class Planned:
    """An intent with the event that caused it (for webhooks: its id and type)."""

    intent: Intent
    event_id: str
    event_type: str


class Templates:
    """All templates keyed by (category, channel, key); read once per batch (a few dozen rows)."""

    def __init__(self, rows: Sequence[Template]) -> None:
        self.by_key = {(t.category, t.channel, t.key): (t.subject, t.body) for t in rows}

    @classmethod
    async def load(cls, session: AsyncSession) -> "Templates":
        return cls((await session.scalars(select(Template))).all())

    def find(self, category: str, channel: Channel, key: str) -> tuple[str, str]:
        return (
            self.by_key.get((category, channel.value, key))
            or self.by_key.get((category, channel.value, "default"))
            or self.by_key.get(("system", channel.value, "default"))
            or ("{{ title }}", "{{ message }}")
        )

    def render(self, intent: Intent, channel: Channel, variables: dict[str, Any]) -> tuple[str, str]:
        subject, body = self.find(intent.category, channel, intent.key)
        return domain.render(subject, variables), domain.render(body, variables)


def recipient_of(row: Recipient | None) -> domain.Recipient:
    if row is None:
        return domain.Recipient()
    return domain.Recipient(
        email=row.email,
        phone=row.phone,
        timezone=row.timezone,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        digest=row.digest,
    )


async def _context(
    session: AsyncSession, users: set[uuid.UUID], types: set[str]
) -> tuple[
    dict[uuid.UUID, Recipient], dict[uuid.UUID, dict[tuple[str, str], bool]], list[WebhookEndpoint], set[uuid.UUID]
]:
    recipients = {r.user_id: r for r in await session.scalars(select(Recipient).where(Recipient.user_id.in_(users)))}
    switches: dict[uuid.UUID, Switches] = {}
    for pref in await session.scalars(select(ChannelPreference).where(ChannelPreference.user_id.in_(users))):
        switches.setdefault(pref.user_id, {})[(pref.channel, pref.category)] = pref.enabled
    endpoints = list(
        await session.scalars(
            select(WebhookEndpoint).where(
                WebhookEndpoint.user_id.in_(users),
                WebhookEndpoint.active.is_(True),
                WebhookEndpoint.event_types.overlap(sorted(types)),
            )
        )
    )
    with_devices = set((await session.scalars(select(Device.user_id).where(Device.user_id.in_(users)))).all())
    return recipients, switches, endpoints, with_devices


def _webhook_event(planned: Planned) -> dict[str, Any]:
    """The CloudEvent a webhook receives: the original event's id and type, its data without secrets."""
    intent = planned.intent
    data = {k: v for k, v in intent.data.items() if k not in SECRET_KEYS}
    return CloudEvent(
        id=planned.event_id, source=WEBHOOK_SOURCE, type=planned.event_type, subject=str(intent.user_id), data=data
    ).model_dump(mode="json")


async def plan(session: AsyncSession, batch: Sequence[Planned], now: datetime) -> int:
    """Store and schedule everything `batch` asks for; returns how many notifications were new."""
    if not batch:
        return 0
    users = {p.intent.user_id for p in batch}
    recipients, switches, endpoints, with_devices = await _context(session, users, {p.event_type for p in batch})
    templates = await Templates.load(session)
    notifications: list[dict[str, Any]] = []
    deliveries: dict[uuid.UUID, list[dict[str, Any]]] = {}
    hooks: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for n, planned in enumerate(batch):
        intent = planned.intent
        person = recipient_of(recipients.get(intent.user_id))
        overrides = switches.get(intent.user_id, {})
        variables = domain.template_vars(intent)
        title, message = templates.render(intent, Channel.IN_APP, variables)
        variables.update(title=title, message=message)
        notification_id = uuid.uuid4()
        stored = {k: v for k, v in intent.data.items() if k not in SECRET_KEYS}
        notifications.append(
            {
                "id": notification_id,
                "user_id": intent.user_id,
                "category": intent.category,
                "key": intent.key,
                "title": title[:200],
                "message": message[:2000],
                "priority": intent.priority.value,
                "reference_type": intent.reference_type,
                "reference_id": intent.reference_id,
                "action_url": intent.action_url,
                "dedupe_key": intent.dedupe_key,
                "data": stored,
                "in_app": intent.email_to is None and domain.enabled(Channel.IN_APP, intent.category, overrides),
                "created_at": now + timedelta(microseconds=n),  # arrival order survives newest-first sorting
            }
        )
        rows = deliveries[notification_id] = []
        for channel in SENT_CHANNELS:
            address = _address(channel, intent, person, overrides)
            if address is False or (channel == Channel.PUSH and intent.user_id not in with_devices):
                continue
            subject, body = templates.render(intent, channel, variables)
            status, when = domain.schedule(now, person, intent.priority)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "notification_id": notification_id,
                    "user_id": intent.user_id,
                    "channel": channel.value,
                    "status": status,
                    "subject": subject[:500],
                    "body": body,
                    "address": address,
                    "attempts": 0,
                    "next_attempt_at": when,
                    "created_at": now,
                }
            )
        hooks[notification_id] = [
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint.id,
                "user_id": intent.user_id,
                "event_id": planned.event_id,
                "event_type": planned.event_type,
                "event": _webhook_event(planned),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint in endpoints
            if endpoint.user_id == intent.user_id and planned.event_type in endpoint.event_types
        ]
    # One compiled statement, sent in batches (insertmanyvalues): compiling a 500-row VALUES list
    # per batch cost more than the database's work.
    table = Notification.__table__
    inserted = await session.execute(insert(table).on_conflict_do_nothing().returning(table.c.id), notifications)
    created = set(inserted.scalars().all())
    sends = [row for nid in created for row in deliveries[nid]]
    if sends:
        await session.execute(insert(Delivery.__table__), sends)
    calls = [row for nid in created for row in hooks[nid]]
    if calls:
        await session.execute(insert(WebhookDelivery.__table__), calls)
    woken = sorted({str(n["user_id"]) for n in notifications if n["id"] in created and n["in_app"]})
    await wake(session, woken)
    return len(created)


def _address(channel: Channel, intent: Intent, person: domain.Recipient, overrides: dict[tuple[str, str], bool]) -> Any:
    """Where a channel's send goes: an address, None (push: every device), or False (not this channel)."""
    if intent.email_to is not None:
        return intent.email_to if channel == Channel.EMAIL else False
    if not domain.enabled(channel, intent.category, overrides):
        return False
    if channel == Channel.EMAIL:
        return person.email or False
    if channel == Channel.SMS:
        return person.phone or False
    return None


async def wake(session: AsyncSession, user_ids: Sequence[str]) -> None:
    """Tell live streams (any replica) that these people have something new, once the transaction commits."""
    chunks = [",".join(user_ids[i : i + _NOTIFY_CHUNK]) for i in range(0, len(user_ids), _NOTIFY_CHUNK)]
    if chunks:
        await session.execute(
            text("SELECT pg_notify(:channel, c) FROM unnest(CAST(:chunks AS text[])) AS c"),
            {"channel": LIVE_CHANNEL, "chunks": chunks},
        )
