"""Rules, their executions, the per-user trigger history, apply jobs and their changes, time zones.

Revision ID: 0002_rules_executions_jobs
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002_rules_executions_jobs"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "automation_rules",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("100"), nullable=False, comment="Lower runs first."),
        sa.Column("event_type", sa.String(100), nullable=True),
        sa.Column("cron", sa.String(100), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True, comment="None: the user's time zone."),
        sa.Column("conditions", JSONB(), nullable=False),
        sa.Column("actions", JSONB(), nullable=False),
        sa.Column("stop_processing", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_automation_rules"),
        sa.CheckConstraint("(event_type IS NULL) <> (cron IS NULL)", name="ck_automation_rules_one_trigger"),
    )
    op.create_index("ix_automation_rules_user_order", "automation_rules", ["user_id", "priority", "created_at"])
    op.create_index(
        "ix_automation_rules_due",
        "automation_rules",
        ["next_run_at"],
        postgresql_where=sa.text("enabled AND cron IS NOT NULL"),
    )

    op.create_table(
        "rule_executions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("trigger", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input", JSONB(), nullable=False),
        sa.Column("result", JSONB(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Numeric(12, 3), nullable=False),
        sa.Column("chain_depth", sa.Integer(), server_default=sa.text("1"), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_rule_executions"),
        sa.UniqueConstraint("rule_id", "event_id", name="uq_rule_executions_rule_event"),
        sa.CheckConstraint(
            "status IN ('succeeded', 'failed', 'loop_stopped')", name="ck_rule_executions_status_allowed"
        ),
    )
    op.create_index("ix_rule_executions_user_created", "rule_executions", ["user_id", "created_at"])

    op.create_table(
        "trigger_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, comment="When this service received it"),
        sa.Column(
            "event_date",
            sa.Date(),
            nullable=False,
            comment="The date the event is about (expense_date, …); apply ranges use it",
        ),
        sa.Column(
            "subject_id", sa.String(100), nullable=True, comment="expense_id, income_id, … when there is one"
        ),
        sa.Column("data", JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trigger_events"),
        sa.UniqueConstraint("user_id", "event_id", name="uq_trigger_events_user_event"),
    )
    op.create_index("ix_trigger_events_user_time", "trigger_events", ["user_id", "occurred_at"])
    op.create_index("ix_trigger_events_user_type_date", "trigger_events", ["user_id", "event_type", "event_date"])

    op.create_table(
        "automation_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), server_default="apply", nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("events_scanned", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("events_matched", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("actions_requested", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("changes_reverted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_automation_jobs"),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'reverted')", name="ck_automation_jobs_status_allowed"
        ),
    )
    op.create_index("ix_automation_jobs_user_created", "automation_jobs", ["user_id", "created_at"])

    op.create_table(
        "job_changes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("change", JSONB(), nullable=False),
        sa.Column("undo", JSONB(), nullable=True, comment="None: no event can undo it"),
        sa.Column("reverted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_changes"),
    )
    op.create_index("ix_job_changes_job", "job_changes", ["job_id"])

    op.create_table(
        "user_timezones",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        _now("updated_at"),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_timezones"),
    )


def downgrade() -> None:
    for table in ("user_timezones", "job_changes", "automation_jobs", "trigger_events", "rule_executions"):
        op.drop_table(table)
    op.drop_table("automation_rules")
