"""Imported bank and card transactions taken as expenses (one per user, source and provider id)

Revision ID: 0007_bank_imports
Revises: 0006_spaces
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_bank_imports"
down_revision: str | None = "0006_spaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expense_bank_imports",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.UUID(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False, comment="Linked to an expense entered before the import"),
        sa.Column("expense_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["expense_id"],
            ["expenses.id"],
            name=op.f("fk_expense_bank_imports_expense_id_expenses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "source", "external_id", name=op.f("pk_expense_bank_imports")),
    )
    op.create_index("ix_expense_bank_imports_expense_id", "expense_bank_imports", ["expense_id"])


def downgrade() -> None:
    op.drop_index("ix_expense_bank_imports_expense_id", table_name="expense_bank_imports")
    op.drop_table("expense_bank_imports")
