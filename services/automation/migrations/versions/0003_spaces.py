"""Shared spaces: rules (and their runs, remembered events and apply jobs) may belong to a space; the
spaces read model.

Revision ID: 0003_spaces
Revises: 0002_rules_executions_jobs
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.migration_ops import create_space_tables, drop_space_tables

revision: str = "0003_spaces"
down_revision: str | None = "0002_rules_executions_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "automation_rules": ("ix_automation_rules_space_order", ["space_id", "priority", "created_at"]),
    "rule_executions": ("ix_rule_executions_space_created", ["space_id", "created_at"]),
    "trigger_events": ("ix_trigger_events_space_time", ["space_id", "occurred_at"]),
    "automation_jobs": ("ix_automation_jobs_space_created", ["space_id", "created_at"]),
}


def upgrade() -> None:
    create_space_tables()
    for table, (index, columns) in INDEXES.items():
        op.add_column(table, sa.Column("space_id", sa.Uuid(), nullable=True))
        op.create_index(index, table, columns)


def downgrade() -> None:
    for table, (index, _) in INDEXES.items():
        op.drop_index(index, table_name=table)
        op.drop_column(table, "space_id")
    drop_space_tables()
