"""Tables of the tax service; the shared outbox and inbox come with the platform's Base.

What the user owns (profiles, deductions, deductible categories), what the service learns from
other services' events (income, realized gains, expense suggestions), the FX rates it fetched and
the cached calculations. Brackets are not a table: they ship as versioned files (regimes.py).
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_tax.domain import DeductionStatus, FilingStatus

__all__ = [
    "Base",
    "DeductibleCategory",
    "DeductionSuggestion",
    "FxRate",
    "InboxEvent",
    "IncomeFact",
    "OutboxEvent",
    "RealizedGainFact",
    "SaleRevision",
    "TaxCalculation",
    "TaxDeduction",
    "TaxInputs",
    "TaxProfile",
]


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class SuggestionStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


class TaxProfile(IdMixin, TimestampMixin, Base):
    """Who the user is for one tax year; a year without its own profile uses the latest earlier one."""

    __tablename__ = "tax_profiles"
    __table_args__ = (
        UniqueConstraint("user_id", "tax_year", name="uq_tax_profiles_user_year"),
        one_of("filing_status", FilingStatus),
        CheckConstraint("dependents >= 0", name="dependents_not_negative"),
    )

    user_id: Mapped[uuid.UUID]
    tax_year: Mapped[int] = mapped_column(Integer)
    country_code: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    filing_status: Mapped[str] = mapped_column(String(40))
    dependents: Mapped[int] = mapped_column(Integer, default=0)


class TaxDeduction(IdMixin, TimestampMixin, Base):
    __tablename__ = "tax_deductions"
    __table_args__ = (
        one_of("status", DeductionStatus),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_tax_deductions_user_id_tax_year", "user_id", "tax_year"),
    )

    user_id: Mapped[uuid.UUID]
    tax_year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    deduction_date: Mapped[date | None] = mapped_column(Date)
    document_reference: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default=DeductionStatus.CLAIMED.value)
    expense_id: Mapped[uuid.UUID | None] = mapped_column(comment="Set when accepted from an expense suggestion")


class DeductibleCategory(IdMixin, TimestampMixin, Base):
    """An expense category the user marks as deductible, and the deduction category it maps to."""

    __tablename__ = "tax_deductible_categories"
    __table_args__ = (
        CheckConstraint("(category_id IS NOT NULL) <> (category_name IS NOT NULL)", name="one_key"),
        Index("uq_tax_deductible_categories_user_category_id", "user_id", "category_id", unique=True),
        Index("uq_tax_deductible_categories_user_category_name", "user_id", "category_name", unique=True),
    )

    user_id: Mapped[uuid.UUID]
    category_id: Mapped[uuid.UUID | None]
    category_name: Mapped[str | None] = mapped_column(String(100), comment="Matched case-insensitively (lowered)")
    deduction_category: Mapped[str] = mapped_column(String(100))


class DeductionSuggestion(IdMixin, TimestampMixin, Base):
    """An expense in a deductible category, waiting for the user to accept or dismiss it."""

    __tablename__ = "tax_deduction_suggestions"
    __table_args__ = (
        one_of("status", SuggestionStatus),
        UniqueConstraint("user_id", "expense_id", name="uq_tax_deduction_suggestions_user_expense"),
        Index("ix_tax_deduction_suggestions_user_id_expense_date", "user_id", "expense_date"),
    )

    user_id: Mapped[uuid.UUID]
    expense_id: Mapped[uuid.UUID]
    deduction_category: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    expense_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=SuggestionStatus.PENDING.value)
    deduction_id: Mapped[uuid.UUID | None]


class IncomeFact(Base):
    """Income as the income service announced it (gross); a deletion leaves a tombstone."""

    __tablename__ = "tax_income"
    __table_args__ = (Index("ix_tax_income_user_id_received_date", "user_id", "received_date"),)

    income_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    source_type: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal]
    tax_deducted: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    received_date: Mapped[date] = mapped_column(Date)
    deleted: Mapped[bool] = mapped_column(default=False)


class SaleRevision(Base):
    """The newest revision seen per sell: a lower one arriving late changes nothing."""

    __tablename__ = "tax_sale_revisions"

    transaction_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    revision: Mapped[int] = mapped_column(Integer)


class RealizedGainFact(Base):
    """One lot disposed of by one sell, as the sell's newest revision states it."""

    __tablename__ = "tax_realized_gains"
    __table_args__ = (Index("ix_tax_realized_gains_user_id_disposal_date", "user_id", "disposal_date"),)

    transaction_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    symbol: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(Numeric(28, 8))
    acquisition_date: Mapped[date] = mapped_column(Date)
    disposal_date: Mapped[date] = mapped_column(Date)
    proceeds: Mapped[Decimal]
    cost: Mapped[Decimal]
    gain: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))


class FxRate(Base):
    """Rates fetched from market-data, kept: a past day's reference rate does not change."""

    __tablename__ = "tax_fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(28, 10))
    source: Mapped[str] = mapped_column(String(100))


class TaxInputs(Base):
    """Bumped in the same transaction as any change to a user's tax inputs: a cached calculation
    carries the version it was computed from and is served only while that is still current."""

    __tablename__ = "tax_inputs"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)


class TaxCalculation(IdMixin, Base):
    __tablename__ = "tax_calculations"
    __table_args__ = (UniqueConstraint("user_id", "tax_year", name="uq_tax_calculations_user_year"),)

    user_id: Mapped[uuid.UUID]
    tax_year: Mapped[int] = mapped_column(Integer)
    inputs_version: Mapped[int] = mapped_column(BigInteger)
    regime_version: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    total_income: Mapped[Decimal]
    taxable_income: Mapped[Decimal]
    total_deductions: Mapped[Decimal]
    tax_owed: Mapped[Decimal]
    capital_gains_tax: Mapped[Decimal]
    calculation_details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    calculated_at: Mapped[datetime] = mapped_column(default=utcnow)
