"""Expenses, budgets and recurring expenses can belong to a shared space; the spaces read model.

The personal list's indexes carry `space_id` (INCLUDE) so its count of `user_id = me AND space_id IS
NULL` stays an index-only scan; a space's list has its own partial index.

Revision ID: 0006_spaces
Revises: 0005_recurring_account
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.migration_ops import create_space_tables, drop_space_tables

revision: str = "0006_spaces"
down_revision: str | None = "0005_recurring_account"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = "The shared space it belongs to"


def _personal_indexes(include: list[str]) -> None:
    op.drop_index("ix_expenses_user_date", table_name="expenses")
    op.drop_index("ix_expenses_user_category_date", table_name="expenses")
    op.create_index(
        "ix_expenses_user_date",
        "expenses",
        ["user_id", sa.literal_column("expense_date DESC"), sa.literal_column("id DESC")],
        postgresql_include=include,
    )
    op.create_index(
        "ix_expenses_user_category_date",
        "expenses",
        ["user_id", "category_id", sa.literal_column("expense_date DESC")],
        postgresql_include=include,
    )


def upgrade() -> None:
    create_space_tables()
    for table in ("expenses", "budgets", "recurring_expenses"):
        op.add_column(table, sa.Column("space_id", sa.Uuid(), nullable=True, comment=COMMENT))
    op.create_index("ix_budgets_space_id", "budgets", ["space_id"])
    op.create_index("ix_recurring_expenses_space_id", "recurring_expenses", ["space_id"])
    op.create_index(
        "ix_expenses_space_date",
        "expenses",
        ["space_id", sa.literal_column("expense_date DESC"), sa.literal_column("id DESC")],
        postgresql_where=sa.text("space_id IS NOT NULL"),
    )
    _personal_indexes(["space_id"])


def downgrade() -> None:
    _personal_indexes([])
    op.drop_index("ix_expenses_space_date", table_name="expenses")
    op.drop_index("ix_recurring_expenses_space_id", table_name="recurring_expenses")
    op.drop_index("ix_budgets_space_id", table_name="budgets")
    for table in ("expenses", "budgets", "recurring_expenses"):
        op.drop_column(table, "space_id")
    drop_space_tables()
