"""The table of P2P payments: one row per payment, seen by both people (the payer and the payee)."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from pfms_accounts.payment_rules import PaymentStatus
from pfms_platform.db import Base, IdMixin, TimestampMixin

STATUSES = ", ".join(f"'{s.value}'" for s in PaymentStatus)


class Payment(IdMixin, TimestampMixin, Base):
    """A payment from `payer_id` to `payee_id`, sent by the payer or requested by the payee.

    The entries it booked are named so each saga step books once: `hold_entry_id` (the payer's money
    into their clearing account), `settle_entry_id` (the payee's receipt), `refund_entry_id` (the hold
    returned). Accounts are kept by id (SET NULL if an account row goes: the saga then refunds)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUSES})", name="status_allowed"),
        CheckConstraint("initiated_by IN ('payer', 'payee')", name="initiated_by_allowed"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("payer_id <> payee_id", name="two_people"),
        Index("ix_payments_payer_id_created_at", "payer_id", "created_at"),
        Index("ix_payments_payee_id_created_at", "payee_id", "created_at"),
        Index("ix_payments_open_expires_at", "expires_at", postgresql_where=text("status IN ('requested', 'sent')")),
    )

    payer_id: Mapped[uuid.UUID]
    payee_id: Mapped[uuid.UUID]
    initiated_by: Mapped[str] = mapped_column(String(5))
    payer_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    payee_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(30))
    """Why it was declined or failed: `declined`, `expired`, `account_unavailable`, `user_deleted`."""
    hold_entry_id: Mapped[uuid.UUID | None]
    settle_entry_id: Mapped[uuid.UUID | None]
    refund_entry_id: Mapped[uuid.UUID | None]
    expires_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
