"""Tables of the savings service; the shared outbox and inbox come with the platform's Base.

Every row carries its owner's `user_id` (who made it). A goal may belong to a shared space
(`space_id`); its entries, milestones and rules follow the goal. Enumerated columns are strings guarded by CHECK
constraints; money is NUMERIC(19,4) in the goal's currency.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.spaces import SpaceMembership, SpaceVersion
from pfms_savings.domain import (
    SCHEDULE_FREQUENCIES,
    EntryKind,
    EntrySource,
    GoalCategory,
    GoalStatus,
    Priority,
    RuleKind,
)

__all__ = [
    "AutoSaveRule",
    "Base",
    "Contribution",
    "Goal",
    "GoalMilestone",
    "InboxEvent",
    "OutboxEvent",
    "SpaceMembership",
    "SpaceVersion",
    "SpendingFact",
]

Percent = Numeric(7, 4, asdecimal=True)


def one_of(column: str, values: type[StrEnum] | tuple[StrEnum, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class Goal(IdMixin, TimestampMixin, Base):
    """A savings goal; `saved_amount` is the running total of its contributions minus withdrawals."""

    __tablename__ = "goals"
    __table_args__ = (
        one_of("category", GoalCategory),
        one_of("priority", Priority),
        one_of("status", GoalStatus),
        CheckConstraint("target_amount > 0", name="target_amount_positive"),
        CheckConstraint("saved_amount >= 0", name="saved_amount_not_negative"),
        Index("ix_goals_user_id_created_at", "user_id", "created_at"),
        Index("ix_goals_space_id_created_at", "space_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None] = mapped_column(
        comment="The shared space it belongs to; NULL: the creator's personal space"
    )
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), server_default=text("'active'"))
    target_amount: Mapped[Decimal]
    saved_amount: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3))
    target_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(String(1000))
    achieved_at: Mapped[datetime | None]


class Contribution(IdMixin, Base):
    """One move of money into (contribution) or out of (withdrawal) a goal; `amount` is always positive.

    `user_id` is whose move it was: in a space goal, any member's (the goal's creator is on the goal).

        An automatic entry names its rule and the source it came from (an expense id, an income id, a
        schedule date): the unique (rule_id, source_ref) key makes each rule pay once per source, and
        requests from other services are once per request id (source 'automation', partial unique index).
    """

    __tablename__ = "contributions"
    __table_args__ = (
        one_of("kind", EntryKind),
        one_of("source", EntrySource),
        CheckConstraint("amount > 0", name="amount_positive"),
        UniqueConstraint("rule_id", "source_ref", name="uq_contributions_rule_id_source_ref"),
        Index(
            "uq_contributions_request",
            "source_ref",
            unique=True,
            postgresql_where=text("source = 'automation'"),
        ),
        Index("ix_contributions_goal_id_contributed_on", "goal_id", "contributed_on"),
        Index("ix_contributions_user_id", "user_id"),
    )

    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal]
    contributed_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auto_save_rules.id", ondelete="SET NULL"))
    source_ref: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class GoalMilestone(Base):
    """Thresholds a goal has reached (25/50/75, and 100 = achieved): the row makes each event leave once."""

    __tablename__ = "goal_milestones"
    __table_args__ = (CheckConstraint("percent IN (25, 50, 75, 100)", name="percent_allowed"),)

    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True)
    percent: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reached_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class AutoSaveRule(IdMixin, TimestampMixin, Base):
    """Saves into a goal automatically: a round-up of each expense, a share of each income, or a schedule."""

    __tablename__ = "auto_save_rules"
    __table_args__ = (
        one_of("kind", RuleKind),
        CheckConstraint(
            "(kind = 'round_up' AND round_up_unit IN (1, 5, 10)) OR "
            "(kind = 'income_percent' AND percent > 0 AND percent <= 100) OR "
            "(kind = 'scheduled' AND amount > 0 AND frequency IN ("
            + ", ".join(f"'{f.value}'" for f in SCHEDULE_FREQUENCIES)
            + ") AND start_date IS NOT NULL AND next_run_on IS NOT NULL)",
            name="kind_fields",
        ),
        Index("ix_auto_save_rules_user_id_kind", "user_id", "kind"),
        Index("ix_auto_save_rules_due", "next_run_on", postgresql_where=text("kind = 'scheduled' AND active")),
    )

    user_id: Mapped[uuid.UUID]
    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    round_up_unit: Mapped[Decimal | None]
    percent: Mapped[Decimal | None] = mapped_column(Percent)
    amount: Mapped[Decimal | None]
    frequency: Mapped[str | None] = mapped_column(String(10))
    start_date: Mapped[date | None] = mapped_column(Date)
    next_run_on: Mapped[date | None] = mapped_column(Date)
    last_run_on: Mapped[date | None] = mapped_column(Date)


class SpendingFact(Base):
    """The read model of the user's expenses (from expense.*) behind the emergency-fund recommendation.

    A deleted expense stays as a tombstone (`deleted`), so a late `expense.created` redelivered after
    its deletion does not bring it back.
    """

    __tablename__ = "spending_facts"
    __table_args__ = (Index("ix_spending_facts_user_id_expense_date", "user_id", "expense_date"),)

    expense_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    expense_date: Mapped[date] = mapped_column(Date)
    deleted: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
