"""Tables of the notification service; the shared outbox and inbox come with the platform's Base.

`recipients` and `channel_preferences` are this service's copy of what the user service announces
(address, time zone, switches), so delivering never waits on another service.
"""

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.crypto import Encrypted
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = [
    "Base",
    "ChannelPreference",
    "Delivery",
    "Device",
    "InboxEvent",
    "Notification",
    "OutboxEvent",
    "Recipient",
    "Template",
    "WebhookDelivery",
    "WebhookEndpoint",
]


class Recipient(Base):
    """How to reach a person and when not to: filled from user.created / user.updated and the settings route."""

    __tablename__ = "recipients"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(Encrypted())
    phone: Mapped[str | None] = mapped_column(Encrypted())
    timezone: Mapped[str] = mapped_column(default="UTC", server_default="UTC")
    quiet_start: Mapped[time | None]
    quiet_end: Mapped[time | None]
    digest: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    last_digest_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class ChannelPreference(Base):
    """A switch the person flipped away from the default (user.updated section notifications)."""

    __tablename__ = "channel_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(primary_key=True)
    enabled: Mapped[bool]


class Notification(IdMixin, Base):
    """One thing a person was told; the in-app inbox lists these."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_id_dedupe_key"),
        Index("ix_notifications_user_created", "user_id", text("created_at DESC")),
        Index("ix_notifications_user_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    user_id: Mapped[uuid.UUID]
    category: Mapped[str]
    key: Mapped[str] = mapped_column(comment="Template key: the event type that caused it")
    title: Mapped[str]
    message: Mapped[str]
    priority: Mapped[str]
    reference_type: Mapped[str | None]
    reference_id: Mapped[uuid.UUID | None]
    action_url: Mapped[str | None]
    dedupe_key: Mapped[str | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    in_app: Mapped[bool] = mapped_column(default=True, comment="Shown in the inbox (in_app switch on)")
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Delivery(IdMixin, Base):
    """One try-until-done send of a notification over email, push or SMS (the delivery log)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_deliveries_user", "user_id"),
    )

    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID]
    channel: Mapped[str]
    status: Mapped[str] = mapped_column(comment="pending | sent | failed | digest | digested")
    subject: Mapped[str]
    body: Mapped[str]
    address: Mapped[str | None] = mapped_column(Encrypted())
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Template(IdMixin, TimestampMixin, Base):
    """Jinja2 (sandboxed) subject and body per (category, channel, key); `default` is the fallback key."""

    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("category", "channel", "key", name="uq_notification_templates_ck"),)

    category: Mapped[str]
    channel: Mapped[str]
    key: Mapped[str]
    subject: Mapped[str]
    body: Mapped[str]


class Device(IdMixin, Base):
    """A push token of one of the person's devices."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("user_id", "token", name="uq_devices_user_id_token"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token: Mapped[str]
    platform: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class WebhookEndpoint(IdMixin, TimestampMixin, Base):
    """An HTTPS endpoint of the person's that receives the event types they picked, signed."""

    __tablename__ = "webhook_endpoints"

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    url: Mapped[str]
    description: Mapped[str] = mapped_column(default="", server_default="")
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String()))
    mode: Mapped[str] = mapped_column(default="structured", comment="structured | binary (CloudEvents HTTP)")
    secret: Mapped[str] = mapped_column(Encrypted())
    active: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(IdMixin, Base):
    """One event for one endpoint: retried with backoff, then parked until replayed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event_id: Mapped[str]
    event_type: Mapped[str]
    event: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="The CloudEvent sent")
    status: Mapped[str] = mapped_column(comment="pending | delivered | parked")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_status: Mapped[int | None]
    last_error: Mapped[str | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
