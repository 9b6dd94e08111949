"""Report jobs and their files (seed §2.12 generated_reports, plus the worker's claim columns), and the
deleted users whose stored files are still to be removed.

Revision ID: 0002_generated_reports
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_generated_reports"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "generated_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("report_type", sa.String(20), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("parameters", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("requested_by", sa.String(50), nullable=False, comment="'user' or the calling service's name"),
        sa.Column("status", sa.String(20), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("run_after", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "lease_until", TS, nullable=True, comment="A processing job whose lease passed is resumed"
        ),
        sa.Column("file_name", sa.String(200), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("generated_at", TS, nullable=True),
        sa.Column("expires_at", TS, nullable=True),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "report_type IN ('monthly', 'custom', 'tax', 'portfolio', 'export')",
            name=op.f("ck_generated_reports_report_type_valid"),
        ),
        sa.CheckConstraint("format IN ('pdf', 'xlsx', 'csv', 'zip')", name=op.f("ck_generated_reports_format_valid")),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed', 'expired')",
            name=op.f("ck_generated_reports_status_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_generated_reports"),
    )
    op.create_index(
        "ix_generated_reports_user_created",
        "generated_reports",
        ["user_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    op.create_index(
        "ix_generated_reports_todo",
        "generated_reports",
        ["run_after"],
        postgresql_where=sa.text("status IN ('pending', 'processing')"),
    )
    op.create_index(
        "ix_generated_reports_expiry",
        "generated_reports",
        ["expires_at"],
        postgresql_where=sa.text("status = 'completed'"),
    )
    op.create_table(
        "object_purges",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("requested_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_object_purges"),
    )


def downgrade() -> None:
    op.drop_table("object_purges")
    op.drop_table("generated_reports")
