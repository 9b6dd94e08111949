"""Income sources and transactions can belong to a shared space; the spaces read model.

Revision ID: 0005_spaces
Revises: 0004_income_account
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.migration_ops import create_space_tables, drop_space_tables

revision: str = "0005_spaces"
down_revision: str | None = "0004_income_account"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENT = "The shared space it belongs to; NULL: the creator's personal space"


def upgrade() -> None:
    create_space_tables()
    op.add_column("income_sources", sa.Column("space_id", sa.Uuid(), nullable=True, comment=COMMENT))
    op.add_column("income_transactions", sa.Column("space_id", sa.Uuid(), nullable=True, comment=COMMENT))
    op.create_index("ix_income_sources_space_id_created_at", "income_sources", ["space_id", "created_at"])
    op.create_index(
        "ix_income_transactions_space_id_date", "income_transactions", ["space_id", sa.text("date DESC")]
    )


def downgrade() -> None:
    op.drop_index("ix_income_transactions_space_id_date", table_name="income_transactions")
    op.drop_index("ix_income_sources_space_id_created_at", table_name="income_sources")
    op.drop_column("income_transactions", "space_id")
    op.drop_column("income_sources", "space_id")
    drop_space_tables()
