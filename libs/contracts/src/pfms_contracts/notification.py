"""Requests to reach a person: any service asks, the notification service delivers.

`notification.requested` is the fleet's `notification.send` of the seed design (one name, the
request form); `notification.read` is the read receipt the notification service publishes.

The producer says what happened and to whom; the notification service picks the channels from the
person's preferences (the `category` matches the user service's notification categories), renders
and delivers, and drops a repeat of the same `dedupe_key`.
"""

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData


class NotificationRequested(EventData):
    type: ClassVar[str] = "notification.requested"
    exchange: ClassVar[str] = "notification.events"
    summary: ClassVar[str] = "Tell the person `user_id` something; delivered by their channel preferences."

    category: str = Field(
        description="expense | income | investment | loan | group | tax | savings | security | system"
    )
    title: str = Field(max_length=200)
    message: str = Field(max_length=2000)
    priority: str = Field(default="normal", description="low | normal | high")
    reference_type: str | None = Field(default=None, description="What it is about, e.g. group_settlement, loan")
    reference_id: UUID | None = None
    action_url: str | None = Field(default=None, description="Client path to open, e.g. /groups/{id}")
    dedupe_key: str | None = Field(default=None, description="Same key, same notification: deliver once.")
    data: dict[str, Any] = Field(default_factory=dict, description="Template variables; no secrets.")


class NotificationRead(EventData):
    type: ClassVar[str] = "notification.read"
    exchange: ClassVar[str] = "notification.events"
    summary: ClassVar[str] = (
        "The person `user_id` read in-app notifications (one, or all unread at once: `all_unread`); "
        "read receipts for analytics and for clearing the same item on other devices."
    )

    notification_ids: list[UUID] = Field(description="The notifications marked read by this action.")
    all_unread: bool = Field(default=False, description="True when the person marked everything read.")
    read_at: datetime
