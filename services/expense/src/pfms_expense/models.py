"""Tables of the expense service; the shared outbox and inbox come with the platform's Base.

Every row carries `user_id` and every query filters by it. Expenses, budgets and recurring expenses
may belong to a shared space instead (`space_id`; `user_id` stays who created them): see
pfms_platform.spaces. Enumerated columns are strings guarded
by CHECK constraints (adding a value is a one-line migration). Money is NUMERIC(19,4) with an
ISO 4217 `currency` beside it.
"""

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_expense.budgets import BudgetPeriod
from pfms_expense.imports.rows import ImportFormat
from pfms_finance.recurrence import Frequency
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.spaces import SpaceMembership, SpaceVersion

__all__ = [
    "Base",
    "Budget",
    "BudgetCrossing",
    "Category",
    "Expense",
    "FxRate",
    "Habit",
    "HabitLog",
    "ImportBatch",
    "ImportIssue",
    "ImportMapping",
    "InboxEvent",
    "OutboxEvent",
    "RecurringExpense",
    "SpaceMembership",
    "SpaceVersion",
    "UserSettings",
]


class Source(StrEnum):
    MANUAL = "manual"
    VOICE = "voice"
    IMPORT = "import"
    RECURRING = "recurring"
    AUTO = "auto"


class ImportStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def _tags() -> Mapped[list[str]]:
    return mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))


class UserSettings(Base):
    """What the service knows of a user's profile (from user.* events): the currency summaries use."""

    __tablename__ = "user_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), server_default="USD")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class FxRate(Base):
    """Market-data FX rates already fetched, one per (base, quote, day): an import of 100,000 rows asks
    market-data once per distinct currency and day, and never again afterwards."""

    __tablename__ = "fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12), comment="Units of quote per unit of base")
    rate_date: Mapped[date] = mapped_column(Date, comment="The business day the rate is from (day or before)")
    source: Mapped[str] = mapped_column(String(100))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Category(IdMixin, TimestampMixin, Base):
    __tablename__ = "expense_categories"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_expense_categories_user_name"),
        CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name="color_hex"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    icon: Mapped[str | None] = mapped_column(String(50))
    color: Mapped[str | None] = mapped_column(String(7))
    parent_category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("expense_categories.id", ondelete="SET NULL"), index=True
    )
    is_system: Mapped[bool] = mapped_column(server_default=text("false"))
    hidden: Mapped[bool] = mapped_column(server_default=text("false"))


class RecurringExpense(IdMixin, TimestampMixin, Base):
    __tablename__ = "recurring_expenses"
    __table_args__ = (
        one_of("frequency", Frequency),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("reminder_days BETWEEN 0 AND 365", name="reminder_days_range"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        Index("ix_recurring_expenses_due", "next_due_date", postgresql_where=text("is_active")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    space_id: Mapped[uuid.UUID | None] = mapped_column(index=True, comment="The shared space it belongs to")
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("expense_categories.id", ondelete="SET NULL"))
    payment_method: Mapped[str | None] = mapped_column(String(50))
    account_id: Mapped[uuid.UUID | None] = mapped_column(comment="The account its occurrences are paid from")
    tags: Mapped[list[str]] = _tags()
    frequency: Mapped[str] = mapped_column(String(20))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    next_due_date: Mapped[date | None] = mapped_column(Date, comment="NULL once the schedule has ended")
    last_paid_date: Mapped[date | None] = mapped_column(Date, comment="Latest occurrence materialised")
    reminded_for: Mapped[date | None] = mapped_column(Date, comment="Due date the last reminder was sent for")
    auto_pay: Mapped[bool] = mapped_column(server_default=text("false"))
    reminder_days: Mapped[int] = mapped_column(Integer, server_default=text("3"))
    inflation_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), server_default=text("0"))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))


class ImportBatch(IdMixin, TimestampMixin, Base):
    """One upload and its report; counts and issues are exact once `status` is completed."""

    __tablename__ = "import_batches"
    __table_args__ = (one_of("status", ImportStatus), one_of("format", ImportFormat))

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(10))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_bytes: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), server_default=ImportStatus.PENDING.value)
    total_rows: Mapped[int] = mapped_column(server_default=text("0"))
    successful_rows: Mapped[int] = mapped_column(server_default=text("0"))
    duplicate_rows: Mapped[int] = mapped_column(server_default=text("0"))
    failed_rows: Mapped[int] = mapped_column(server_default=text("0"))
    skipped_rows: Mapped[int] = mapped_column(server_default=text("0"), comment="Money in: not expenses")
    processed_bytes: Mapped[int] = mapped_column(server_default=text("0"), comment="Progress of the parser")
    message: Mapped[str | None] = mapped_column(Text, comment="Why a failed file changed nothing")
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    finished_at: Mapped[datetime | None]


class ImportIssue(Base):
    """A row of an import that was not imported: an error, a duplicate, or skipped (money in)."""

    __tablename__ = "import_issues"
    __table_args__ = (CheckConstraint("kind IN ('error', 'duplicate', 'skipped')", name="kind_allowed"),)

    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True)
    row_number: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)


class ImportMapping(IdMixin, TimestampMixin, Base):
    """A CSV column mapping a user saved under a name for the next export of the same bank."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_import_mappings_user_name"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Expense(IdMixin, TimestampMixin, Base):
    __tablename__ = "expenses"
    __table_args__ = (
        one_of("source", Source),
        CheckConstraint("amount > 0", name="amount_positive"),
        # A schedule materialises each occurrence at most once, whichever instance gets there first.
        # Partial: the other expenses (an import's 100,000 rows) carry no entry in it.
        Index(
            "uq_expenses_recurring_occurrence",
            "recurring_expense_id",
            "occurrence_date",
            unique=True,
            postgresql_where=text("recurring_expense_id IS NOT NULL"),
        ),
        # space_id is carried along so that the personal list's count (`space_id IS NULL`) stays index-only.
        Index(
            "ix_expenses_user_date",
            "user_id",
            text("expense_date DESC"),
            text("id DESC"),
            postgresql_include=["space_id"],
        ),
        Index(
            "ix_expenses_user_category_date",
            "user_id",
            "category_id",
            text("expense_date DESC"),
            postgresql_include=["space_id"],
        ),
        Index(
            "ix_expenses_space_date",
            "space_id",
            text("expense_date DESC"),
            text("id DESC"),
            postgresql_where=text("space_id IS NOT NULL"),
        ),
        Index("ix_expenses_user_fingerprint", "user_id", "fingerprint"),
        # The conversion job and the write paths find what is left to convert from here.
        Index("ix_expenses_unconverted", "user_id", postgresql_where=text("amount_in_user_currency IS NULL")),
        # Partial: untagged rows (all of an import's) carry no entry; the tag filter says `tags <> '{}'`.
        Index("ix_expenses_tags", "tags", postgresql_using="gin", postgresql_where=text("tags <> '{}'::text[]")),
        # A long pending list makes inserts cheap (a 100,000-row import); autovacuum merges it.
        Index(
            "ix_expenses_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
            postgresql_with={"gin_pending_list_limit": 65536},
        ),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None] = mapped_column(comment="The shared space it belongs to")
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    category_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("expense_categories.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, server_default="")
    expense_date: Mapped[date] = mapped_column(Date)
    expense_time: Mapped[time | None] = mapped_column(Time)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    payment_method: Mapped[str | None] = mapped_column(String(50))
    tags: Mapped[list[str]] = _tags()
    attachments: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    source: Mapped[str] = mapped_column(String(20), server_default=Source.MANUAL.value)
    recurring_expense_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recurring_expenses.id", ondelete="SET NULL")
    )
    occurrence_date: Mapped[date | None] = mapped_column(Date, comment="The schedule date this expense pays")
    import_batch_id: Mapped[uuid.UUID | None] = mapped_column(
        comment="The import that added it. No foreign key: checking one per row cost ~0.8 s per 100,000 "
        "imported rows, and batches are only ever deleted with their user's expenses"
    )
    fingerprint: Mapped[uuid.UUID | None] = mapped_column(comment="Import dedupe key (see imports/rows.py)")
    # Not checked here (no reads of another service's data): the accounts service books it only on the user's own.
    account_id: Mapped[uuid.UUID | None] = mapped_column(comment="The account it was paid from (accounts service)")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    # The amount in the user's profile currency at the expense date's market-data rate (fx.py); NULL
    # until converted (market-data was down, or the profile currency changed since).
    user_currency: Mapped[str | None] = mapped_column(String(3), comment="The currency converted into")
    fx_rate: Mapped[Decimal | None] = mapped_column(Numeric(24, 12), comment="user_currency per unit of currency")
    amount_in_user_currency: Mapped[Decimal | None] = mapped_column(Numeric(19, 4))


class Habit(IdMixin, TimestampMixin, Base):
    __tablename__ = "habits"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_habits_user_name"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("target_reduction BETWEEN 0 AND 100", name="target_reduction_percent"),
        CheckConstraint("baseline_per_week IS NULL OR baseline_per_week >= 0", name="baseline_not_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(50))
    unit_cost: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    icon: Mapped[str | None] = mapped_column(String(50))
    target_reduction: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    baseline_per_week: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class HabitLog(IdMixin, Base):
    __tablename__ = "habit_logs"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_habit_logs_habit_date", "habit_id", text("log_date DESC")),
        Index("ix_habit_logs_user_date", "user_id", text("log_date DESC")),
    )

    habit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("habits.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)
    total_cost: Mapped[Decimal]
    log_date: Mapped[date] = mapped_column(Date)
    log_time: Mapped[time | None] = mapped_column(Time)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Budget(IdMixin, TimestampMixin, Base):
    __tablename__ = "budgets"
    __table_args__ = (
        one_of("period", BudgetPeriod),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("period <> 'custom' OR end_date IS NOT NULL", name="custom_has_end"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    space_id: Mapped[uuid.UUID | None] = mapped_column(index=True, comment="The shared space it belongs to")
    name: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("expense_categories.id", ondelete="RESTRICT"), index=True, comment="NULL: every category"
    )
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    rollover: Mapped[bool] = mapped_column(server_default=text("false"))
    alert_thresholds: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{50,80,100}'"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))


class BudgetCrossing(Base):
    """A threshold crossed in one budget period; the key makes the alert go out once."""

    __tablename__ = "budget_crossings"

    budget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    spent: Mapped[Decimal]
    crossed_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
