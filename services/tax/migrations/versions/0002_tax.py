"""Tax profiles, deductions and deductible categories; the read model of income, realized gains and
expense suggestions; fetched FX rates; input versions and cached calculations.

Revision ID: 0002_tax
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_tax"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(19, 4)
STATUSES = "'single', 'married_joint', 'married_separate', 'head_of_household', 'qualifying_surviving_spouse'"


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "tax_profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("tax_year", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("region", sa.String(100), nullable=True),
        sa.Column("filing_status", sa.String(40), nullable=False),
        sa.Column("dependents", sa.Integer(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tax_profiles"),
        sa.UniqueConstraint("user_id", "tax_year", name="uq_tax_profiles_user_year"),
        sa.CheckConstraint(f"filing_status IN ({STATUSES})", name="ck_tax_profiles_filing_status_allowed"),
        sa.CheckConstraint("dependents >= 0", name="ck_tax_profiles_dependents_not_negative"),
    )
    op.create_table(
        "tax_deductions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("tax_year", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("deduction_date", sa.Date(), nullable=True),
        sa.Column("document_reference", sa.String(500), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("expense_id", sa.Uuid(), nullable=True, comment="Set when accepted from an expense suggestion"),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tax_deductions"),
        sa.CheckConstraint("status IN ('claimed', 'approved', 'rejected')", name="ck_tax_deductions_status_allowed"),
        sa.CheckConstraint("amount > 0", name="ck_tax_deductions_amount_positive"),
    )
    op.create_index("ix_tax_deductions_user_id_tax_year", "tax_deductions", ["user_id", "tax_year"])
    op.create_table(
        "tax_deductible_categories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column(
            "category_name", sa.String(100), nullable=True, comment="Matched case-insensitively (lowered)"
        ),
        sa.Column("deduction_category", sa.String(100), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tax_deductible_categories"),
        sa.CheckConstraint(
            "(category_id IS NOT NULL) <> (category_name IS NOT NULL)", name="ck_tax_deductible_categories_one_key"
        ),
    )
    op.create_index(
        "uq_tax_deductible_categories_user_category_id",
        "tax_deductible_categories",
        ["user_id", "category_id"],
        unique=True,
    )
    op.create_index(
        "uq_tax_deductible_categories_user_category_name",
        "tax_deductible_categories",
        ["user_id", "category_name"],
        unique=True,
    )
    op.create_table(
        "tax_deduction_suggestions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expense_id", sa.Uuid(), nullable=False),
        sa.Column("deduction_category", sa.String(100), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("expense_date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("deduction_id", sa.Uuid(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tax_deduction_suggestions"),
        sa.UniqueConstraint("user_id", "expense_id", name="uq_tax_deduction_suggestions_user_expense"),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'dismissed')", name="ck_tax_deduction_suggestions_status_allowed"
        ),
    )
    op.create_index(
        "ix_tax_deduction_suggestions_user_id_expense_date", "tax_deduction_suggestions", ["user_id", "expense_date"]
    )
    op.create_table(
        "tax_income",
        sa.Column("income_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source_type", sa.String(40), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("tax_deducted", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("income_id", name="pk_tax_income"),
    )
    op.create_index("ix_tax_income_user_id_received_date", "tax_income", ["user_id", "received_date"])
    op.create_table(
        "tax_sale_revisions",
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", name="pk_tax_sale_revisions"),
    )
    op.create_index("ix_tax_sale_revisions_user_id", "tax_sale_revisions", ["user_id"])
    op.create_table(
        "tax_realized_gains",
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("lot_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(40), nullable=False),
        sa.Column("quantity", sa.Numeric(28, 8), nullable=False),
        sa.Column("acquisition_date", sa.Date(), nullable=False),
        sa.Column("disposal_date", sa.Date(), nullable=False),
        sa.Column("proceeds", MONEY, nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("gain", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", "lot_id", name="pk_tax_realized_gains"),
    )
    op.create_index("ix_tax_realized_gains_user_id_disposal_date", "tax_realized_gains", ["user_id", "disposal_date"])
    op.create_table(
        "tax_fx_rates",
        sa.Column("base", sa.String(3), nullable=False),
        sa.Column("quote", sa.String(3), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(28, 10), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("base", "quote", "day", name="pk_tax_fx_rates"),
    )
    op.create_table(
        "tax_inputs",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_tax_inputs"),
    )
    op.create_table(
        "tax_calculations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("tax_year", sa.Integer(), nullable=False),
        sa.Column("inputs_version", sa.BigInteger(), nullable=False),
        sa.Column("regime_version", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_income", MONEY, nullable=False),
        sa.Column("taxable_income", MONEY, nullable=False),
        sa.Column("total_deductions", MONEY, nullable=False),
        sa.Column("tax_owed", MONEY, nullable=False),
        sa.Column("capital_gains_tax", MONEY, nullable=False),
        sa.Column("calculation_details", postgresql.JSONB(), nullable=False),
        sa.Column("calculated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tax_calculations"),
        sa.UniqueConstraint("user_id", "tax_year", name="uq_tax_calculations_user_year"),
    )


def downgrade() -> None:
    for table in (
        "tax_calculations",
        "tax_inputs",
        "tax_fx_rates",
        "tax_realized_gains",
        "tax_sale_revisions",
        "tax_income",
        "tax_deduction_suggestions",
        "tax_deductible_categories",
        "tax_deductions",
        "tax_profiles",
    ):
        op.drop_table(table)
