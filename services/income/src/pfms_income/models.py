"""Tables of the income service; the shared outbox and inbox come with the platform's Base.

Two kinds of table live here: what the user owns (income sources and transactions) and what the
service learns from other services' events to project cash flow (expense facts, scheduled
outflows, the user's currency). Enumerated columns are strings guarded by CHECK constraints.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_finance.recurrence import Frequency
from pfms_income.domain import IncomeType, OutflowKind, SourceFrequency
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.spaces import SpaceMembership, SpaceVersion

__all__ = [
    "Base",
    "CashflowProjection",
    "ExpenseFact",
    "InboxEvent",
    "IncomeSource",
    "IncomeTransaction",
    "OutboxEvent",
    "ProjectionInputs",
    "ScheduledOutflow",
    "SpaceMembership",
    "SpaceVersion",
]

SPACE_COMMENT = "The shared space it belongs to; NULL: the creator's personal space"


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class IncomeSource(IdMixin, TimestampMixin, Base):
    """Where income comes from; with a frequency, amount and start date it produces expected income."""

    __tablename__ = "income_sources"
    __table_args__ = (
        one_of("type", IncomeType),
        one_of("frequency", SourceFrequency),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint(
            "frequency IS NULL OR (amount IS NOT NULL AND start_date IS NOT NULL)", name="schedule_complete"
        ),
        Index("ix_income_sources_user_id_created_at", "user_id", "created_at"),
        Index("ix_income_sources_space_id_created_at", "space_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None] = mapped_column(comment=SPACE_COMMENT)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(comment="Expected amount received per occurrence (net)")
    currency: Mapped[str] = mapped_column(String(3))
    frequency: Mapped[str | None] = mapped_column(String(20), comment="NULL: irregular, no expectation")
    start_date: Mapped[date | None] = mapped_column(Date, comment="Anchor of the schedule (first payment)")
    end_date: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    description: Mapped[str | None] = mapped_column(Text)


class IncomeTransaction(IdMixin, TimestampMixin, Base):
    """Money received; `net_amount = amount - tax_deducted` holds in the database too."""

    __tablename__ = "income_transactions"
    __table_args__ = (
        one_of("type", IncomeType),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("tax_deducted >= 0 AND tax_deducted <= amount", name="tax_within_amount"),
        CheckConstraint("net_amount = amount - tax_deducted", name="net_is_amount_less_tax"),
        Index("ix_income_transactions_user_id_date", "user_id", text("date DESC")),
        Index("ix_income_transactions_source", "income_source_id", "date"),
        Index("ix_income_transactions_space_id_date", "space_id", text("date DESC")),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None] = mapped_column(comment=SPACE_COMMENT)
    income_source_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("income_sources.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(20), comment="The source's type when recorded, else given")
    amount: Mapped[Decimal] = mapped_column(comment="Gross amount")
    tax_deducted: Mapped[Decimal] = mapped_column(server_default=text("0"))
    net_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    date: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(50))
    payment_method: Mapped[str | None] = mapped_column(String(50))
    # Not checked here (no reads of another service's data): the accounts service books it only on the user's own.
    account_id: Mapped[uuid.UUID | None] = mapped_column(comment="The account it was paid into (accounts service)")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'::jsonb"))


class ExpenseFact(Base):
    """The service's copy of an expense, from expense.* events; `deleted` rows are tombstones."""

    __tablename__ = "expense_facts"
    __table_args__ = (
        Index(
            "ix_expense_facts_user_burn",
            "user_id",
            "expense_date",
            postgresql_where=text("NOT deleted AND recurring_expense_id IS NULL"),
        ),
    )

    expense_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    expense_date: Mapped[date] = mapped_column(Date)
    category_id: Mapped[uuid.UUID | None]
    recurring_expense_id: Mapped[uuid.UUID | None] = mapped_column(
        comment="Set when a schedule booked it; such expenses are projected as outflows, not as burn"
    )
    deleted: Mapped[bool] = mapped_column(server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class ScheduledOutflow(IdMixin, Base):
    """A confirmed future flow learned from another service: a recurring expense, or a loan instalment
    (paid out when the user borrowed, received when the user lent: kind `loan_repayment`).

    `(kind, external_id)` names the producer's object; `frequency` NULL means a single payment on `next_due_date`.
    """

    __tablename__ = "scheduled_outflows"
    __table_args__ = (
        one_of("kind", OutflowKind),
        one_of("frequency", Frequency),
        Index("uq_scheduled_outflows_kind_external_id", "kind", "external_id", unique=True),
        Index("ix_scheduled_outflows_user_live", "user_id", postgresql_where=text("active AND NOT deleted")),
        Index("ix_scheduled_outflows_loan", "loan_id", "next_due_date", postgresql_where=text("loan_id IS NOT NULL")),
    )

    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    frequency: Mapped[str | None] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date, comment="Anchor of the schedule")
    next_due_date: Mapped[date] = mapped_column(Date, comment="First occurrence not yet booked")
    end_date: Mapped[date | None] = mapped_column(Date)
    inflation_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), server_default=text("0"))
    description: Mapped[str] = mapped_column(Text, server_default="")
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    deleted: Mapped[bool] = mapped_column(server_default=text("false"), comment="Tombstone: later changes ignored")
    loan_id: Mapped[uuid.UUID | None] = mapped_column(comment="The loan an instalment belongs to")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class ProjectionInputs(Base):
    """Per user: a version bumped in the same transaction as any change to projection inputs, and the currency.

    The projection cache key carries the version, so a committed change can never be answered from
    a cache entry computed before it.
    """

    __tablename__ = "projection_inputs"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    currency: Mapped[str | None] = mapped_column(String(3), comment="From user.updated (profile currency)")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class CashflowProjection(IdMixin, Base):
    """The latest projection of each user, one row per projected day (replaced on each computation)."""

    __tablename__ = "cashflow_projections"
    __table_args__ = (
        Index("uq_cashflow_projections_user_id_projection_date", "user_id", "projection_date", unique=True),
        CheckConstraint("confidence_score BETWEEN 0 AND 1", name="confidence_range"),
    )

    user_id: Mapped[uuid.UUID]
    projection_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    projected_balance: Mapped[Decimal]
    confidence_score: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    expected_income: Mapped[Decimal]
    expected_expenses: Mapped[Decimal]
    notes: Mapped[str | None] = mapped_column(Text)
    calculated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
