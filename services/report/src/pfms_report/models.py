"""Tables of the report service (seed §2.12 `generated_reports`, plus what a resumable worker needs);
the shared outbox and inbox come with the platform's Base."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.spaces import SpaceMembership, SpaceVersion
from pfms_report.domain import ReportFormat, ReportType, Status


def _one_of(column: str, values: type[Any]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


class Report(IdMixin, TimestampMixin, Base):
    """A report job and, once completed, where its file is. The worker claims `pending` jobs (and
    `processing` ones whose lease ran out: their worker died) with SKIP LOCKED."""

    __tablename__ = "generated_reports"
    __table_args__ = (
        _one_of("report_type", ReportType),
        _one_of("format", ReportFormat),
        _one_of("status", Status),
        Index("ix_generated_reports_user_created", "user_id", text("created_at DESC"), text("id DESC")),
        Index("ix_generated_reports_space_created", "space_id", text("created_at DESC"), text("id DESC")),
        # The worker's queue: only jobs still to do carry an entry.
        Index(
            "ix_generated_reports_todo",
            "run_after",
            postgresql_where=text("status IN ('pending', 'processing')"),
        ),
        Index("ix_generated_reports_expiry", "expires_at", postgresql_where=text("status = 'completed'")),
    )

    user_id: Mapped[uuid.UUID]
    """Who asked for it (in a space too)."""
    space_id: Mapped[uuid.UUID | None]
    """The space whose data the report covers; None: the requester's own."""
    report_type: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(10))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    requested_by: Mapped[str] = mapped_column(String(50), comment="'user' or the calling service's name")
    status: Mapped[str] = mapped_column(String(20), server_default=Status.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    run_after: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    lease_until: Mapped[datetime | None] = mapped_column(comment="A processing job whose lease passed is resumed")
    file_name: Mapped[str] = mapped_column(String(200))
    object_key: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    file_size: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    generated_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class ObjectPurge(Base):
    """A deleted user whose stored files are still to be removed (written by the `user.deleted`
    handler in its transaction; the sweeper deletes the objects under the user's prefix, then the row)."""

    __tablename__ = "object_purges"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class SpaceEntry(Base):
    """An expense or income of a shared space, kept from the expense and income events that carry its
    `space_id` (the upstream exports are per person, so a space's report is made from this)."""

    __tablename__ = "space_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('expense', 'income')", name="kind_valid"),
        Index("ix_space_entries_space_day", "space_id", "day"),
    )

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    space_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    """Who recorded it (kept when the person is deleted: the entry is the space's)."""
    day: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(19, 4))
    """The expense's amount, or the income's gross amount."""
    currency: Mapped[str] = mapped_column(String(3))
    label: Mapped[str] = mapped_column(String(100))
    """The expense's category name, or the income's type."""
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class ObjectRemoval(Base):
    """A stored file whose report row is gone (its space was deleted); the sweeper deletes it, then the row."""

    __tablename__ = "object_removals"

    object_key: Mapped[str] = mapped_column(Text, primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


__all__ = [
    "Base",
    "InboxEvent",
    "ObjectPurge",
    "ObjectRemoval",
    "OutboxEvent",
    "Report",
    "SpaceEntry",
    "SpaceMembership",
    "SpaceVersion",
]
