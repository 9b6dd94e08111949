"""Imported bank transactions taken as income (one per user, source and provider id)

Revision ID: 0005_bank_imports
Revises: 0004_income_account
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_bank_imports"
down_revision: str | None = "0004_income_account"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "income_bank_imports",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.UUID(), nullable=False),
        sa.Column("posted", sa.Boolean(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False, comment="Linked to income entered before the import"),
        sa.Column("income_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["income_id"],
            ["income_transactions.id"],
            name=op.f("fk_income_bank_imports_income_id_income_transactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "source", "external_id", name=op.f("pk_income_bank_imports")),
    )
    op.create_index("ix_income_bank_imports_income_id", "income_bank_imports", ["income_id"])


def downgrade() -> None:
    op.drop_index("ix_income_bank_imports_income_id", table_name="income_bank_imports")
    op.drop_table("income_bank_imports")
