"""Accounts can belong to a shared space; the spaces read model.

A space's accounts are listed by `(space_id, created_at)` (partial: personal rows stay out of it).

Revision ID: 0008_spaces
Revises: 0007_connections
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.migration_ops import create_space_tables, drop_space_tables

revision: str = "0008_spaces"
down_revision: str | None = "0007_connections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_space_tables()
    op.add_column(
        "accounts", sa.Column("space_id", sa.Uuid(), nullable=True, comment="The shared space it belongs to")
    )
    op.create_index(
        "ix_accounts_space_id_created_at",
        "accounts",
        ["space_id", "created_at"],
        postgresql_where=sa.text("space_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_space_id_created_at", table_name="accounts")
    op.drop_column("accounts", "space_id")
    drop_space_tables()
