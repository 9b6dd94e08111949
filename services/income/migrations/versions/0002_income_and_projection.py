"""Income sources and transactions; the projection's read model (expense facts, scheduled outflows) and cache.

Revision ID: 0002_income_and_projection
Revises: 0001_messaging
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_income_and_projection"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(19, 4)
TYPES = "'salary', 'freelance', 'business', 'bonus', 'investment', 'other'"
FREQUENCIES = "'daily', 'weekly', 'biweekly', 'monthly', 'quarterly', 'yearly'"


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "income_sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("amount", MONEY, nullable=True, comment="Expected amount received per occurrence (net)"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=True, comment="NULL: irregular, no expectation"),
        sa.Column("start_date", sa.Date(), nullable=True, comment="Anchor of the schedule (first payment)"),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_income_sources"),
        sa.CheckConstraint(f"type IN ({TYPES})", name="ck_income_sources_type_allowed"),
        sa.CheckConstraint(
            f"frequency IN ('one_time', {FREQUENCIES})", name="ck_income_sources_frequency_allowed"
        ),
        sa.CheckConstraint("amount > 0", name="ck_income_sources_amount_positive"),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_income_sources_end_after_start"),
        sa.CheckConstraint(
            "frequency IS NULL OR (amount IS NOT NULL AND start_date IS NOT NULL)",
            name="ck_income_sources_schedule_complete",
        ),
    )
    op.create_index("ix_income_sources_user_id_created_at", "income_sources", ["user_id", "created_at"])

    op.create_table(
        "income_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("income_source_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(20), nullable=False, comment="The source's type when recorded, else given"),
        sa.Column("amount", MONEY, nullable=False, comment="Gross amount"),
        sa.Column("tax_deducted", MONEY, server_default=sa.text("0"), nullable=False),
        sa.Column("net_amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(50), nullable=True),
        sa.Column("payment_method", sa.String(50), nullable=True),
        sa.Column(
            "metadata", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_income_transactions"),
        sa.ForeignKeyConstraint(
            ["income_source_id"],
            ["income_sources.id"],
            name="fk_income_transactions_income_source_id_income_sources",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(f"type IN ({TYPES})", name="ck_income_transactions_type_allowed"),
        sa.CheckConstraint("amount > 0", name="ck_income_transactions_amount_positive"),
        sa.CheckConstraint(
            "tax_deducted >= 0 AND tax_deducted <= amount", name="ck_income_transactions_tax_within_amount"
        ),
        sa.CheckConstraint(
            "net_amount = amount - tax_deducted", name="ck_income_transactions_net_is_amount_less_tax"
        ),
    )
    op.create_index("ix_income_transactions_user_id_date", "income_transactions", ["user_id", sa.text("date DESC")])
    op.create_index("ix_income_transactions_source", "income_transactions", ["income_source_id", "date"])

    op.create_table(
        "expense_facts",
        sa.Column("expense_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("expense_date", sa.Date(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column(
            "recurring_expense_id",
            sa.Uuid(),
            nullable=True,
            comment="Set when a schedule booked it; such expenses are projected as outflows, not as burn",
        ),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("expense_id", name="pk_expense_facts"),
    )
    op.create_index("ix_expense_facts_user_id", "expense_facts", ["user_id"])
    op.create_index(
        "ix_expense_facts_user_burn",
        "expense_facts",
        ["user_id", "expense_date"],
        postgresql_where=sa.text("NOT deleted AND recurring_expense_id IS NULL"),
    )

    op.create_table(
        "scheduled_outflows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("external_id", sa.Uuid(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("frequency", sa.String(20), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False, comment="Anchor of the schedule"),
        sa.Column("next_due_date", sa.Date(), nullable=False, comment="First occurrence not yet booked"),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("inflation_rate", sa.Numeric(7, 4), server_default=sa.text("0"), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "deleted",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="Tombstone: later changes ignored",
        ),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduled_outflows"),
        sa.CheckConstraint("kind IN ('recurring_expense')", name="ck_scheduled_outflows_kind_allowed"),
        sa.CheckConstraint(f"frequency IN ({FREQUENCIES})", name="ck_scheduled_outflows_frequency_allowed"),
    )
    op.create_index(
        "uq_scheduled_outflows_kind_external_id", "scheduled_outflows", ["kind", "external_id"], unique=True
    )
    op.create_index(
        "ix_scheduled_outflows_user_live",
        "scheduled_outflows",
        ["user_id"],
        postgresql_where=sa.text("active AND NOT deleted"),
    )

    op.create_table(
        "projection_inputs",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True, comment="From user.updated (profile currency)"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name="pk_projection_inputs"),
    )

    op.create_table(
        "cashflow_projections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("projection_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("projected_balance", MONEY, nullable=False),
        sa.Column("confidence_score", sa.Numeric(3, 2), nullable=False),
        sa.Column("expected_income", MONEY, nullable=False),
        sa.Column("expected_expenses", MONEY, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        _now("calculated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_cashflow_projections"),
        sa.CheckConstraint("confidence_score BETWEEN 0 AND 1", name="ck_cashflow_projections_confidence_range"),
    )
    op.create_index(
        "uq_cashflow_projections_user_id_projection_date",
        "cashflow_projections",
        ["user_id", "projection_date"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("cashflow_projections")
    op.drop_table("projection_inputs")
    op.drop_table("scheduled_outflows")
    op.drop_table("expense_facts")
    op.drop_table("income_transactions")
    op.drop_table("income_sources")
