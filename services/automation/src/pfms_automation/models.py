"""Tables of the automation service; the shared outbox and inbox come with the platform's Base.

Every row carries `user_id` (exported for GDPR; on user.deleted the person's personal rows and all their
rules go, while what they did in a space — its remembered events, runs and jobs — stays the space's). Executions and job
changes keep the rule's id without a foreign key: the log outlives a deleted rule. Rules, runs,
remembered events and jobs of a shared space carry its `space_id` (None: personal); `user_id` is then
who created the rule or job, or whose event it was.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.spaces import SpaceMembership, SpaceVersion

__all__ = [
    "AutomationJob",
    "AutomationRule",
    "Base",
    "InboxEvent",
    "JobChange",
    "OutboxEvent",
    "RuleExecution",
    "SpaceMembership",
    "SpaceVersion",
    "TriggerEvent",
    "UserTimezone",
]


class AutomationRule(IdMixin, TimestampMixin, Base):
    """A rule: a trigger (an event type or a cron schedule), conditions and ordered actions."""

    __tablename__ = "automation_rules"
    __table_args__ = (
        CheckConstraint("(event_type IS NULL) <> (cron IS NULL)", name="one_trigger"),
        Index("ix_automation_rules_user_order", "user_id", "priority", "created_at"),
        Index("ix_automation_rules_space_order", "space_id", "priority", "created_at"),
        Index("ix_automation_rules_due", "next_run_at", postgresql_where=text("enabled AND cron IS NOT NULL")),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, server_default="")
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    priority: Mapped[int] = mapped_column(server_default=text("100"), comment="Lower runs first.")
    event_type: Mapped[str | None] = mapped_column(String(100))
    cron: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64), comment="None: the user's time zone.")
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONB)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    stop_processing: Mapped[bool] = mapped_column(server_default=text("false"))
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    run_count: Mapped[int] = mapped_column(server_default=text("0"))


class RuleExecution(IdMixin, Base):
    """One run of one rule on one event; unique per (rule, event), which makes runs exactly-once."""

    __tablename__ = "rule_executions"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_id", name="uq_rule_executions_rule_event"),
        Index("ix_rule_executions_user_created", "user_id", "created_at"),
        Index("ix_rule_executions_space_created", "space_id", "created_at"),
        CheckConstraint("status IN ('succeeded', 'failed', 'loop_stopped')", name="status_allowed"),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None]
    rule_id: Mapped[uuid.UUID]
    event_id: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    chain_depth: Mapped[int] = mapped_column(server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class TriggerEvent(IdMixin, Base):
    """The last events of each user that rules can trigger on (bounded per user), for test and apply."""

    __tablename__ = "trigger_events"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id", name="uq_trigger_events_user_event"),
        Index("ix_trigger_events_user_time", "user_id", "occurred_at"),
        Index("ix_trigger_events_user_type_date", "user_id", "event_type", "event_date"),
        Index("ix_trigger_events_space_time", "space_id", "occurred_at"),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None]
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(comment="When this service received it")
    event_date: Mapped[date] = mapped_column(
        comment="The date the event is about (expense_date, …); apply ranges use it"
    )
    subject_id: Mapped[str | None] = mapped_column(String(100), comment="expense_id, income_id, … when there is one")
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)


class AutomationJob(IdMixin, TimestampMixin, Base):
    """A rule applied to past events in a date range; its changes are recorded so it can be reverted."""

    __tablename__ = "automation_jobs"
    __table_args__ = (
        Index("ix_automation_jobs_user_created", "user_id", "created_at"),
        Index("ix_automation_jobs_space_created", "space_id", "created_at"),
        CheckConstraint("status IN ('running', 'completed', 'failed', 'reverted')", name="status_allowed"),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None]
    rule_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20), server_default="apply")
    status: Mapped[str] = mapped_column(String(20))
    date_from: Mapped[date]
    date_to: Mapped[date]
    events_scanned: Mapped[int] = mapped_column(server_default=text("0"))
    events_matched: Mapped[int] = mapped_column(server_default=text("0"))
    actions_requested: Mapped[int] = mapped_column(server_default=text("0"))
    changes_reverted: Mapped[int] = mapped_column(server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    reverted_at: Mapped[datetime | None]


class JobChange(IdMixin, Base):
    """One change an apply job asked for, with what it was before and what would undo it."""

    __tablename__ = "job_changes"
    __table_args__ = (Index("ix_job_changes_job", "job_id"),)

    job_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    event_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    request_id: Mapped[uuid.UUID | None]
    change: Mapped[dict[str, Any]] = mapped_column(JSONB)
    undo: Mapped[dict[str, Any] | None] = mapped_column(JSONB, comment="None: no event can undo it")
    reverted: Mapped[bool] = mapped_column(server_default=text("false"))


class UserTimezone(Base):
    """The user's time zone from user.updated (profile), for schedules without their own."""

    __tablename__ = "user_timezones"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))
