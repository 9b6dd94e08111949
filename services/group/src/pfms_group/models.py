"""Tables of the group service; the shared outbox and inbox come with the platform's Base.

Every ledger amount is kept in the group's currency (an expense in another currency keeps its own
amount, the rate used and the converted amount). Splits, payments and per-expense debts carry the
`group_id` too, so balances are one aggregate over an index, never a join through 100k expenses.
Enumerated columns are strings guarded by CHECK constraints.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_finance.recurrence import Frequency
from pfms_group.splits import SplitType
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = [
    "Activity",
    "Base",
    "ExpenseDebt",
    "ExpensePayer",
    "ExpenseSplit",
    "FinanceGroup",
    "GroupExpense",
    "GroupMember",
    "GroupMessage",
    "InboxEvent",
    "MemberBalance",
    "OutboxEvent",
    "PairBalance",
    "RecurringGroupExpense",
    "Settlement",
]


class GroupType(StrEnum):
    TRIP = "trip"
    PARTY = "party"
    OFFICE = "office"
    EVENT = "event"
    GENERAL = "general"


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class MemberStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    LEFT = "left"
    REMOVED = "removed"
    DELETED = "deleted"


class ExpenseKind(StrEnum):
    EXPENSE = "expense"
    WRITE_OFF = "write_off"


class SettlementStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MessageType(StrEnum):
    TEXT = "text"
    EXPENSE = "expense"
    SYSTEM = "system"


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def _group() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("finance_groups.id", ondelete="CASCADE"))


def _expense() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("group_expenses.id", ondelete="CASCADE"))


class FinanceGroup(IdMixin, TimestampMixin, Base):
    __tablename__ = "finance_groups"
    __table_args__ = (one_of("group_type", GroupType),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    group_type: Mapped[str] = mapped_column(String(20), server_default=GroupType.GENERAL.value)
    currency: Mapped[str] = mapped_column(String(3))
    created_by: Mapped[uuid.UUID]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    simplify_debts: Mapped[bool] = mapped_column(server_default=text("true"))
    chat_enabled: Mapped[bool] = mapped_column(server_default=text("true"))


class GroupMember(IdMixin, TimestampMixin, Base):
    __tablename__ = "group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        one_of("role", Role),
        one_of("status", MemberStatus),
    )

    group_id: Mapped[uuid.UUID] = _group()
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    role: Mapped[str] = mapped_column(String(10), server_default=Role.MEMBER.value)
    status: Mapped[str] = mapped_column(String(10), server_default=MemberStatus.ACTIVE.value)
    display_name: Mapped[str | None] = mapped_column(String(100))
    invited_by: Mapped[uuid.UUID | None]
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]


class GroupExpense(IdMixin, TimestampMixin, Base):
    __tablename__ = "group_expenses"
    __table_args__ = (
        one_of("kind", ExpenseKind),
        one_of("split_type", SplitType),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("fx_rate > 0", name="fx_rate_positive"),
        Index("ix_group_expenses_group_date", "group_id", text("expense_date DESC"), "id"),
        Index(
            "uq_group_expenses_occurrence",
            "recurring_id",
            "occurrence_date",
            unique=True,
            postgresql_where=text("recurring_id IS NOT NULL"),
        ),
    )

    group_id: Mapped[uuid.UUID] = _group()
    created_by: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(10), server_default=ExpenseKind.EXPENSE.value)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    expense_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(comment="In `currency`, as entered.")
    currency: Mapped[str] = mapped_column(String(3))
    fx_rate: Mapped[Decimal] = mapped_column(Numeric(20, 10), comment="Group currency per unit of `currency`.")
    fx_source: Mapped[str | None] = mapped_column(String(60))
    group_amount: Mapped[Decimal] = mapped_column(comment="`amount` in the group's currency; shares add up to it.")
    split_type: Mapped[str] = mapped_column(String(12))
    recurring_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("group_recurring_expenses.id", ondelete="SET NULL")
    )
    occurrence_date: Mapped[date | None] = mapped_column(Date)


class ExpenseSplit(IdMixin, Base):
    """A member's share of an expense, in the group's currency."""

    __tablename__ = "expense_splits"
    __table_args__ = (
        UniqueConstraint("expense_id", "user_id"),
        CheckConstraint("share_amount >= 0", name="share_not_negative"),
        Index("ix_expense_splits_balance", "group_id", "user_id", postgresql_include=["share_amount"]),
    )

    expense_id: Mapped[uuid.UUID] = _expense()
    group_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    share_amount: Mapped[Decimal]
    share_percentage: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    weight: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))


class ExpensePayer(IdMixin, Base):
    """What a member paid towards an expense, in the group's currency."""

    __tablename__ = "expense_payers"
    __table_args__ = (
        UniqueConstraint("expense_id", "user_id"),
        CheckConstraint("paid_amount > 0", name="paid_positive"),
        Index("ix_expense_payers_balance", "group_id", "user_id", postgresql_include=["paid_amount"]),
    )

    expense_id: Mapped[uuid.UUID] = _expense()
    group_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    paid_amount: Mapped[Decimal]


class ExpenseDebt(Base):
    """Who owes which payer how much for one expense (splits.debts): the pairwise view's ledger."""

    __tablename__ = "expense_debts"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_expense_debts_pair", "group_id", "debtor_id", "creditor_id", postgresql_include=["amount"]),
    )

    expense_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("group_expenses.id", ondelete="CASCADE"), primary_key=True)
    debtor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creditor_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    group_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal]


class MemberBalance(Base):
    """Running totals per member, kept in the same transaction as every ledger write.

    Balances read these n rows instead of summing the whole ledger (100,000 expenses are 500,000
    shares); `tests/test_balances.py` checks that they always equal the sums of the ledger rows.
    """

    __tablename__ = "group_balances"

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("finance_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    share: Mapped[Decimal] = mapped_column(server_default=text("0"))
    settled_out: Mapped[Decimal] = mapped_column(server_default=text("0"))
    settled_in: Mapped[Decimal] = mapped_column(server_default=text("0"))


class PairBalance(Base):
    """Running net per pair of members (`low_id` < `high_id`): positive means low owes high.

    Kept in the same transaction as every per-expense debt and confirmed settlement, so a page of
    pairwise debts is an index scan instead of netting 440,000 debts; `tests/test_balances.py`
    checks it always equals the netted ledger.
    """

    __tablename__ = "group_pair_balances"
    __table_args__ = (
        CheckConstraint("low_id < high_id", name="ordered_pair"),
        Index("ix_group_pair_balances_amount", "group_id", text("abs(net) DESC"), postgresql_where=text("net <> 0")),
        Index("ix_group_pair_balances_high", "group_id", "high_id"),
    )

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("finance_groups.id", ondelete="CASCADE"), primary_key=True)
    low_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    high_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    net: Mapped[Decimal] = mapped_column(server_default=text("0"))


class Settlement(IdMixin, TimestampMixin, Base):
    """A payment between two members; it counts in balances only once the receiver confirms it."""

    __tablename__ = "settlements"
    __table_args__ = (
        one_of("status", SettlementStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_user_id <> to_user_id", name="distinct_parties"),
        Index("ix_settlements_group_status", "group_id", "status"),
    )

    group_id: Mapped[uuid.UUID] = _group()
    from_user_id: Mapped[uuid.UUID]
    to_user_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), server_default=SettlementStatus.PENDING.value)
    settlement_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class GroupMessage(IdMixin, Base):
    __tablename__ = "group_messages"
    __table_args__ = (
        one_of("message_type", MessageType),
        Index("ix_group_messages_group_created", "group_id", text("created_at DESC")),
    )

    group_id: Mapped[uuid.UUID] = _group()
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    message_type: Mapped[str] = mapped_column(String(10), server_default=MessageType.TEXT.value)
    content: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Activity(IdMixin, Base):
    """The group's feed: one row per change, newest first."""

    __tablename__ = "group_activities"
    __table_args__ = (Index("ix_group_activities_group_created", "group_id", text("created_at DESC")),)

    group_id: Mapped[uuid.UUID] = _group()
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class RecurringGroupExpense(IdMixin, TimestampMixin, Base):
    """A template the scheduler turns into one expense per occurrence (rent, subscriptions)."""

    __tablename__ = "group_recurring_expenses"
    __table_args__ = (
        one_of("frequency", Frequency),
        one_of("split_type", SplitType),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_group_recurring_due", "next_date", postgresql_where=text("active")),
    )

    group_id: Mapped[uuid.UUID] = _group()
    created_by: Mapped[uuid.UUID]
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(100))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    split_type: Mapped[str] = mapped_column(String(12))
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    payers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    frequency: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    next_date: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(server_default=text("true"))
