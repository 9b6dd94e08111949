"""Request and response models: the public contract of the notification service."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from pfms_notification.domain import Category, Channel, Priority
from pfms_notification.intents import BUILDERS
from pfms_platform.schemas import Body, Metadata, TimeOfDay

WEBHOOK_TYPES = sorted(
    t for t in BUILDERS if t not in {"auth.email_verification_requested", "auth.password_reset_requested"}
)
"""Event types a webhook may subscribe to: what reaches a person, less mail carrying secret links."""

WebhookType = Literal[tuple(WEBHOOK_TYPES)]  # type: ignore[valid-type]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NotificationOut(Out):
    id: uuid.UUID
    category: str
    key: str
    title: str
    message: str
    priority: str
    reference_type: str | None
    reference_id: uuid.UUID | None
    action_url: str | None
    data: dict[str, Any]
    read: bool
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> "NotificationOut":
        return cls.model_validate(
            {**{f: getattr(row, f) for f in cls.model_fields if f != "read"}, "read": row.read_at is not None}
        )


class DeliveryOut(Out):
    id: uuid.UUID
    channel: str
    status: str = Field(description="pending | sent | failed | digest | digested")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


class NotificationDetail(NotificationOut):
    deliveries: list[DeliveryOut]


class UnreadCount(BaseModel):
    unread: int


class ReadAll(BaseModel):
    marked: int


class SettingsOut(BaseModel):
    timezone: str
    quiet_hours: dict[str, TimeOfDay] | None
    digest: bool


class DeviceIn(Body):
    token: str = Field(min_length=8, max_length=4096)
    platform: Literal["android", "ios", "web"]


class DeviceOut(Out):
    id: uuid.UUID
    platform: str
    created_at: datetime


class WebhookIn(Body):
    url: HttpUrl
    event_types: list[WebhookType] = Field(min_length=1, max_length=len(WEBHOOK_TYPES))  # type: ignore[valid-type]
    mode: Literal["structured", "binary"] = "structured"
    description: str = Field(default="", max_length=200)


class WebhookUpdate(Body):
    url: HttpUrl | None = None
    event_types: list[WebhookType] | None = Field(default=None, min_length=1)  # type: ignore[valid-type]
    mode: Literal["structured", "binary"] | None = None
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class WebhookOut(Out):
    id: uuid.UUID
    url: str
    event_types: list[str]
    mode: str
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="Shown once: keep it to verify `webhook-signature`")


class WebhookDeliveryOut(Out):
    id: uuid.UUID
    event_id: str
    event_type: str
    status: str = Field(description="pending | delivered | parked")
    attempts: int
    next_attempt_at: datetime
    response_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class SendIn(Body):
    """What `notification.requested` carries, for services that need the id back at once."""

    user_id: uuid.UUID
    category: Category
    title: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=2000)
    priority: Priority = Priority.NORMAL
    reference_type: str | None = Field(default=None, max_length=100)
    reference_id: uuid.UUID | None = None
    action_url: str | None = Field(default=None, max_length=500)
    dedupe_key: str | None = Field(default=None, max_length=200)
    data: Metadata = Field(default_factory=dict)


class Sent(BaseModel):
    created: bool = Field(description="False when the dedupe key had been used: nothing new was sent")


class TemplateIn(Body):
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=20000)


class TemplateOut(Out):
    id: uuid.UUID
    category: str
    channel: Channel
    key: str
    subject: str
    body: str
    updated_at: datetime
