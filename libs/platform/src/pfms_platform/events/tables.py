"""Outbox and inbox tables; every service's metadata carries them (its Alembic history creates them)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, utcnow


class OutboxEvent(Base):
    """An event written in the same transaction as the change it announces."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "created_at", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    exchange: Mapped[str]
    routing_key: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)


class InboxEvent(Base):
    """Ids of events a consumer has applied, so that a redelivery changes nothing."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(primary_key=True)
    event_type: Mapped[str]
    handled_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
