"""Tables of the loan service (seed §2.6); the shared outbox and inbox come with the platform's Base.

Every row carries or reaches its owner's `user_id`; enumerated columns are strings guarded by
CHECK constraints. Money is NUMERIC(19,4) and percentages NUMERIC(7,4).
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, validates

from pfms_loan.amortisation import Compounding, EmiFrequency, InterestType, Method, PrepaymentMode
from pfms_loan.domain import (
    ContactType,
    DisputeStatus,
    InstalmentStatus,
    LoanStatus,
    LoanType,
    PaymentType,
    Priority,
    ReminderType,
)
from pfms_loan.overdue import LateFeeType
from pfms_platform.crypto import BlindIndex, Encrypted
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = [
    "Base",
    "Contact",
    "ContactGroup",
    "ContactGroupMember",
    "InboxEvent",
    "Instalment",
    "Loan",
    "LoanActivity",
    "LoanDispute",
    "LoanPayment",
    "LoanTemplate",
    "OutboxEvent",
    "PaymentReminder",
]

Rate = Numeric(7, 4, asdecimal=True)
JSON_EMPTY = text("'{}'::jsonb")


def one_of(column: str, values: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    rule = f"{column} IN ({allowed})"
    return CheckConstraint(f"{column} IS NULL OR {rule}" if nullable else rule, name=f"{column}_allowed")


class Contact(IdMixin, TimestampMixin, Base):
    """Someone the user lends to or borrows from: an app user (by id) or an external person (by name)."""

    __tablename__ = "contacts"
    __table_args__ = (
        one_of("contact_type", ContactType),
        CheckConstraint(
            "(contact_type = 'app_user' AND linked_user_id IS NOT NULL) OR "
            "(contact_type = 'external' AND name IS NOT NULL)",
            name="contact_type",
        ),
        UniqueConstraint("user_id", "linked_user_id", name="uq_contacts_user_id_linked_user_id"),
        UniqueConstraint("user_id", "phone_index", name="uq_contacts_user_id_phone_index"),
        Index("ix_contacts_user_id_created_at", "user_id", "created_at"),
        Index("ix_contacts_linked_user_id", "linked_user_id", postgresql_where=text("contact_type = 'app_user'")),
    )

    user_id: Mapped[uuid.UUID]
    contact_type: Mapped[str] = mapped_column(String(20))
    linked_user_id: Mapped[uuid.UUID | None]
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(Encrypted())
    phone_index: Mapped[str | None] = mapped_column(BlindIndex("contacts.phone"))
    email: Mapped[str | None] = mapped_column(Encrypted())
    email_index: Mapped[str | None] = mapped_column(BlindIndex("contacts.email"))
    address: Mapped[str | None] = mapped_column(Encrypted())
    nickname: Mapped[str | None] = mapped_column(String(100))
    relationship: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    is_favorite: Mapped[bool] = mapped_column(server_default=text("false"))
    is_blocked: Mapped[bool] = mapped_column(server_default=text("false"))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=JSON_EMPTY)

    @validates("phone", "email")
    def _index(self, key: str, value: str | None) -> str | None:
        """Phone and email are encrypted; their blind index (kept in step here, whoever sets them) serves
        the per-user unique phone and exact-match search."""
        setattr(self, f"{key}_index", value)
        return value


class ContactGroup(IdMixin, Base):
    __tablename__ = "contact_groups"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_contact_groups_user_id_name"),
        CheckConstraint("color IS NULL OR color ~ '^#[0-9A-Fa-f]{6}$'", name="color_hex"),
    )

    user_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    color: Mapped[str | None] = mapped_column(String(7))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class ContactGroupMember(IdMixin, Base):
    __tablename__ = "contact_group_members"
    __table_args__ = (UniqueConstraint("group_id", "contact_id", name="uq_contact_group_members_group_id_contact_id"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_groups.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Loan(IdMixin, TimestampMixin, Base):
    """Money borrowed from or lent to a contact; `remaining_balance` is the principal still owed."""

    __tablename__ = "loans"
    __table_args__ = (
        one_of("type", LoanType),
        one_of("interest_type", InterestType),
        one_of("interest_calculation", Compounding),
        one_of("amortisation", Method),
        one_of("prepayment_mode", PrepaymentMode),
        one_of("status", LoanStatus),
        one_of("priority", Priority),
        one_of("emi_frequency", EmiFrequency, nullable=True),
        one_of("late_fee_type", LateFeeType, nullable=True),
        CheckConstraint("principal_amount > 0", name="loan_amounts"),
        CheckConstraint("interest_rate >= 0 AND interest_rate <= 100", name="interest_rate"),
        CheckConstraint("interest_type <> 'none' OR interest_rate = 0", name="rate_needs_interest_type"),
        CheckConstraint(
            "NOT emi_enabled OR (emi_frequency IS NOT NULL AND total_installments >= 1)", name="emi_complete"
        ),
        CheckConstraint("emi_day IS NULL OR emi_day BETWEEN 1 AND 31", name="emi_day_range"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="end_after_start"),
        CheckConstraint("remaining_balance >= 0 AND remaining_balance <= principal_amount", name="balance_range"),
        CheckConstraint("total_paid >= 0 AND total_interest_paid >= 0 AND total_late_fee_paid >= 0", name="totals"),
        CheckConstraint("reminder_days_before BETWEEN 0 AND 60", name="reminder_days_range"),
        CheckConstraint("grace_period_days BETWEEN 0 AND 365", name="grace_range"),
        CheckConstraint(
            "NOT late_fee_enabled OR (late_fee_amount > 0 AND late_fee_type IS NOT NULL)", name="late_fee_complete"
        ),
        Index("ix_loans_user_id_created_at", "user_id", "created_at"),
        Index("ix_loans_contact_id", "contact_id"),
        Index("ix_loans_open_checked_on", "checked_on", postgresql_where=text("status IN ('active', 'overdue')")),
    )

    user_id: Mapped[uuid.UUID]
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="RESTRICT"))
    type: Mapped[str] = mapped_column(String(20))
    principal_amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    interest_rate: Mapped[Decimal] = mapped_column(Rate, server_default=text("0"))
    interest_type: Mapped[str] = mapped_column(String(20), server_default=text("'none'"))
    interest_calculation: Mapped[str] = mapped_column(String(20), server_default=text("'annual'"))
    amortisation: Mapped[str] = mapped_column(String(20), server_default=text("'reducing'"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    actual_end_date: Mapped[date | None] = mapped_column(Date)
    emi_enabled: Mapped[bool] = mapped_column(server_default=text("false"))
    emi_frequency: Mapped[str | None] = mapped_column(String(20))
    emi_amount: Mapped[Decimal | None]
    emi_day: Mapped[int | None]
    total_installments: Mapped[int | None]
    prepayment_mode: Mapped[str] = mapped_column(String(20), server_default=text("'reduce_term'"))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    remaining_balance: Mapped[Decimal]
    total_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    total_interest_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    total_late_fee_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    interest_paid_to: Mapped[date] = mapped_column(
        Date, comment="Loans without a schedule: interest is settled up to this day"
    )
    reason: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(20), server_default=text("'medium'"))
    attachments: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    has_written_agreement: Mapped[bool] = mapped_column(server_default=text("false"))
    agreement_url: Mapped[str | None] = mapped_column(Text)
    witness_info: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    reminder_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    reminder_days_before: Mapped[int] = mapped_column(server_default=text("3"))
    auto_deduct: Mapped[bool] = mapped_column(server_default=text("false"))
    late_fee_enabled: Mapped[bool] = mapped_column(server_default=text("false"))
    late_fee_amount: Mapped[Decimal | None]
    late_fee_type: Mapped[str | None] = mapped_column(String(20))
    grace_period_days: Mapped[int] = mapped_column(server_default=text("0"))
    checked_on: Mapped[date | None] = mapped_column(Date, comment="Last day the daily job went over this loan")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=JSON_EMPTY)


class Instalment(IdMixin, TimestampMixin, Base):
    """One EMI; what is still owed is each part less what was paid on it."""

    __tablename__ = "emi_schedules"
    __table_args__ = (
        one_of("status", InstalmentStatus),
        UniqueConstraint("loan_id", "installment_number", name="uq_emi_schedules_loan_id_installment_number"),
        CheckConstraint("principal_amount >= 0 AND interest_amount >= 0 AND late_fee >= 0", name="parts"),
        CheckConstraint(
            "principal_paid BETWEEN 0 AND principal_amount AND interest_paid BETWEEN 0 AND interest_amount "
            "AND late_fee_paid BETWEEN 0 AND late_fee",
            name="paid_within_parts",
        ),
        CheckConstraint("total_amount = principal_amount + interest_amount", name="total_is_sum"),
        CheckConstraint("paid_amount = principal_paid + interest_paid + late_fee_paid", name="paid_is_sum"),
        CheckConstraint("days_overdue >= 0", name="days_overdue"),
        Index(
            "ix_emi_schedules_open_due",
            "due_date",
            postgresql_where=text("status IN ('pending', 'partial', 'overdue')"),
        ),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    installment_number: Mapped[int]
    due_date: Mapped[date] = mapped_column(Date)
    principal_amount: Mapped[Decimal]
    interest_amount: Mapped[Decimal] = mapped_column(server_default=text("0"))
    late_fee: Mapped[Decimal] = mapped_column(server_default=text("0"))
    total_amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(20), server_default=text("'pending'"))
    paid_date: Mapped[date | None] = mapped_column(Date)
    paid_amount: Mapped[Decimal] = mapped_column(server_default=text("0"))
    principal_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    interest_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    late_fee_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    outstanding_amount: Mapped[Decimal]
    partial_payments_count: Mapped[int] = mapped_column(server_default=text("0"))
    days_overdue: Mapped[int] = mapped_column(server_default=text("0"))
    overdue_since: Mapped[date | None] = mapped_column(Date)
    late_fee_applied: Mapped[bool] = mapped_column(server_default=text("false"))
    due_announced: Mapped[bool] = mapped_column(
        server_default=text("false"), comment="loan.instalment_due published for this instalment"
    )
    reminder_sent: Mapped[bool] = mapped_column(server_default=text("false"))
    reminder_sent_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=JSON_EMPTY)


class LoanPayment(IdMixin, TimestampMixin, Base):
    """A payment and how it was split; `meta['allocation']` lists the part put on each instalment."""

    __tablename__ = "loan_payments"
    __table_args__ = (
        one_of("payment_type", PaymentType),
        CheckConstraint("amount > 0", name="payment_amount"),
        CheckConstraint("amount = principal_paid + interest_paid + late_fee_paid", name="parts_sum"),
        Index("ix_loan_payments_loan_id_payment_date", "loan_id", "payment_date"),
        Index("ix_loan_payments_user_id_payment_date", "user_id", text("payment_date DESC")),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    emi_schedule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("emi_schedules.id", ondelete="SET NULL"))
    user_id: Mapped[uuid.UUID]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    payment_date: Mapped[date] = mapped_column(Date)
    principal_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    interest_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    late_fee_paid: Mapped[Decimal] = mapped_column(server_default=text("0"))
    remaining_balance: Mapped[Decimal] = mapped_column(comment="Principal owed after this payment")
    payment_method: Mapped[str | None] = mapped_column(String(50))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    payment_type: Mapped[str] = mapped_column(String(20), server_default=text("'regular'"))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'completed'"))
    notes: Mapped[str | None] = mapped_column(Text)
    receipt_url: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=JSON_EMPTY)


class PaymentReminder(IdMixin, Base):
    """A reminder of one instalment; one per (instalment, kind), so the daily job can run twice."""

    __tablename__ = "payment_reminders"
    __table_args__ = (
        one_of("reminder_type", ReminderType),
        UniqueConstraint("emi_schedule_id", "reminder_type", name="uq_payment_reminders_emi_schedule_id_reminder_type"),
        Index("ix_payment_reminders_user_id_reminder_date", "user_id", "reminder_date"),
        Index(
            "ix_payment_reminders_snoozed",
            "snooze_until",
            postgresql_where=text("is_snoozed AND NOT is_acknowledged"),
        ),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"), index=True)
    emi_schedule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("emi_schedules.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    reminder_type: Mapped[str] = mapped_column(String(20))
    reminder_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    notification_sent: Mapped[bool] = mapped_column(server_default=text("false"))
    notification_sent_at: Mapped[datetime | None]
    notification_channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default=text("'{}'"))
    is_acknowledged: Mapped[bool] = mapped_column(server_default=text("false"))
    acknowledged_at: Mapped[datetime | None]
    is_snoozed: Mapped[bool] = mapped_column(server_default=text("false"))
    snooze_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class LoanActivity(IdMixin, Base):
    """The log of every change to a loan, with the values before and after."""

    __tablename__ = "loan_activities"
    __table_args__ = (Index("ix_loan_activities_loan_id_created_at", "loan_id", text("created_at DESC")),)

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    activity_type: Mapped[str] = mapped_column(String(50))
    activity_description: Mapped[str] = mapped_column(Text)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("loan_payments.id", ondelete="SET NULL"))
    emi_schedule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("emi_schedules.id", ondelete="SET NULL"))
    old_value: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new_value: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default=JSON_EMPTY)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class LoanTemplate(IdMixin, TimestampMixin, Base):
    __tablename__ = "loan_templates"
    __table_args__ = (
        one_of("type", LoanType),
        one_of("interest_type", InterestType, nullable=True),
        one_of("emi_frequency", EmiFrequency, nullable=True),
        UniqueConstraint("user_id", "template_name", name="uq_loan_templates_user_id_template_name"),
        CheckConstraint("default_amount IS NULL OR default_amount > 0", name="default_amount"),
        CheckConstraint("interest_rate IS NULL OR (interest_rate >= 0 AND interest_rate <= 100)", name="interest_rate"),
    )

    user_id: Mapped[uuid.UUID]
    template_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(20))
    default_amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    interest_rate: Mapped[Decimal | None] = mapped_column(Rate)
    interest_type: Mapped[str | None] = mapped_column(String(20))
    emi_frequency: Mapped[str | None] = mapped_column(String(20))
    total_installments: Mapped[int | None]
    category: Mapped[str | None] = mapped_column(String(50))
    usage_count: Mapped[int] = mapped_column(server_default=text("0"))
    last_used_at: Mapped[datetime | None]


class LoanDispute(IdMixin, TimestampMixin, Base):
    """A disagreement about a loan: opened, answered (each answer kept in `responses`), then resolved."""

    __tablename__ = "loan_disputes"
    __table_args__ = (
        one_of("status", DisputeStatus),
        one_of("priority", Priority),
        CheckConstraint(
            "status <> 'resolved' OR (resolution IS NOT NULL AND resolved_at IS NOT NULL)", name="resolved"
        ),
        Index("ix_loan_disputes_loan_id_created_at", "loan_id", "created_at"),
    )

    loan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    raised_by: Mapped[uuid.UUID]
    dispute_type: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text)
    expected_resolution: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'open'"))
    priority: Mapped[str] = mapped_column(String(20), server_default=text("'medium'"))
    responses: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[uuid.UUID | None]
    resolved_at: Mapped[datetime | None]
    attachments: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
