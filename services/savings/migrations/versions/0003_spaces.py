"""Savings goals can belong to a shared space (their entries and rules follow the goal); the spaces read model.

Revision ID: 0003_spaces
Revises: 0002_goals_rules
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.migration_ops import create_space_tables, drop_space_tables

revision: str = "0003_spaces"
down_revision: str | None = "0002_goals_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_space_tables()
    op.add_column(
        "goals",
        sa.Column(
            "space_id",
            sa.Uuid(),
            nullable=True,
            comment="The shared space it belongs to; NULL: the creator's personal space",
        ),
    )
    op.create_index("ix_goals_space_id_created_at", "goals", ["space_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_goals_space_id_created_at", table_name="goals")
    op.drop_column("goals", "space_id")
    drop_space_tables()
