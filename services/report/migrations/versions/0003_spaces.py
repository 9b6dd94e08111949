"""Shared spaces: a report may belong to a space; the space's expenses and income kept from their events;
stored files of a deleted space's reports queued for removal; the spaces read model.

Revision ID: 0003_spaces
Revises: 0002_generated_reports
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.migration_ops import create_space_tables, drop_space_tables

revision: str = "0003_spaces"
down_revision: str | None = "0002_generated_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_space_tables()
    op.add_column("generated_reports", sa.Column("space_id", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_generated_reports_space_created",
        "generated_reports",
        ["space_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_table(
        "space_entries",
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("space_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(19, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('expense', 'income')", name=op.f("ck_space_entries_kind_valid")),
        sa.PrimaryKeyConstraint("kind", "entry_id", name="pk_space_entries"),
    )
    op.create_index("ix_space_entries_space_day", "space_entries", ["space_id", "day"])
    op.create_index("ix_space_entries_user_id", "space_entries", ["user_id"])
    op.create_table(
        "object_removals",
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("requested_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("object_key", name="pk_object_removals"),
    )


def downgrade() -> None:
    op.drop_table("object_removals")
    op.drop_index("ix_space_entries_user_id", table_name="space_entries")
    op.drop_index("ix_space_entries_space_day", table_name="space_entries")
    op.drop_table("space_entries")
    op.drop_index("ix_generated_reports_space_created", table_name="generated_reports")
    op.drop_column("generated_reports", "space_id")
    drop_space_tables()
