"""Notifications, delivery log, templates (seeded), recipients, preferences, devices and webhooks.

Revision ID: 0002_notifications
Revises: 0001_messaging
Create Date: 2026-11-26
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002_notifications"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False)


def _updated() -> sa.Column:
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False)


# (category, key, in-app title, in-app message, email subject, email body)
SEED = [
    ("expense", "budget.threshold_reached",
     "{{ budget_name }}: {{ threshold_percent }}% of your budget used",
     "You have spent {{ spent }} {{ currency }} of {{ budget_amount }} {{ currency }} ({{ percent_used }}%) "
     "in {{ budget_name }} for {{ period_start }} to {{ period_end }}.",
     "Budget alert: {{ budget_name }} reached {{ threshold_percent }}%",
     "Hello,\n\nYou have spent {{ spent }} {{ currency }} of your {{ budget_amount }} {{ currency }} budget "
     "\"{{ budget_name }}\" ({{ percent_used }}% used) for {{ period_start }} to {{ period_end }}.\n\n"
     "Open {{ app_url }}{{ action_url }} to review it.\n\n-- PFMS"),
    ("loan", "loan.overdue",
     "A loan payment is {{ days_overdue }} days overdue",
     "{{ outstanding }} {{ currency }} was due on {{ due_date }}{% if late_fee != '0' and late_fee != '0.0000' %} "
     "(late fee {{ late_fee }} {{ currency }}){% endif %}.",
     "Overdue: {{ outstanding }} {{ currency }} was due on {{ due_date }}",
     "Hello,\n\nA loan instalment of {{ outstanding }} {{ currency }} was due on {{ due_date }} and is "
     "{{ days_overdue }} days overdue.\n\nOpen {{ app_url }}{{ action_url }} to settle it.\n\n-- PFMS"),
    ("savings", "goal.achieved",
     "Goal reached: {{ goal_name }}",
     "You saved {{ saved_amount }} {{ currency }} of your {{ target_amount }} {{ currency }} target.",
     "You reached your goal {{ goal_name }}",
     "Congratulations!\n\nYou saved {{ saved_amount }} {{ currency }} and reached your goal \"{{ goal_name }}\".\n\n"
     "-- PFMS"),
    ("savings", "goal.milestone_reached",
     "{{ goal_name }}: {{ milestone_percent }}% there",
     "{{ saved_amount }} {{ currency }} saved of {{ target_amount }} {{ currency }}.",
     "{{ goal_name }} is {{ milestone_percent }}% there",
     "Hello,\n\nYour goal \"{{ goal_name }}\" passed {{ milestone_percent }}%: {{ saved_amount }} {{ currency }} "
     "of {{ target_amount }} {{ currency }}.\n\n-- PFMS"),
    ("investment", "investment.price_alert_triggered",
     "{{ symbol }} price alert",
     "{{ symbol }} is at {{ price }} {{ currency }} ({{ condition }} {{ threshold }}).",
     "Price alert: {{ symbol }} at {{ price }} {{ currency }}",
     "Hello,\n\n{{ symbol }} is now {{ price }} {{ currency }}, which triggered your alert "
     "({{ condition }} {{ threshold }}).\n\n-- PFMS"),
    ("group", "group.expense.created",
     "New shared expense: {{ description }}",
     "{{ description }}: {{ group_amount }} {{ group_currency }}; your share is {{ your_share }} {{ group_currency }}.",
     "New shared expense: {{ description }}",
     "Hello,\n\nA shared expense \"{{ description }}\" of {{ group_amount }} {{ group_currency }} was added; "
     "your share is {{ your_share }} {{ group_currency }}.\n\n-- PFMS"),
    ("group", "group.settlement.completed",
     "Payment confirmed",
     "Your payment of {{ amount }} {{ currency }} was confirmed by the receiver.",
     "Your payment of {{ amount }} {{ currency }} was confirmed",
     "Hello,\n\nYour payment of {{ amount }} {{ currency }} on {{ settlement_date }} was confirmed.\n\n-- PFMS"),
    ("security", "auth.email_verification_requested",
     "Verify your email address",
     "Check your inbox for the verification link.",
     "Verify your email address",
     "Hello,\n\nConfirm your address by opening this link before {{ expires_at }}:\n\n"
     "{{ app_url }}/verify-email?token={{ token }}\n\nIf you did not sign up, ignore this mail.\n\n-- PFMS"),
    ("security", "auth.password_reset_requested",
     "Password reset requested",
     "Check your inbox for the reset link.",
     "Reset your password",
     "Hello,\n\nSomeone asked to reset your password. Open this link before {{ expires_at }} to choose a new one:\n\n"
     "{{ app_url }}/reset-password?token={{ token }}\n\nIf it was not you, ignore this mail.\n\n-- PFMS"),
    ("system", "user.family_invited",
     "Family invitation sent",
     "Your invitation ({{ relationship }}) was sent.",
     "You are invited to join a family on PFMS",
     "Hello,\n\nYou were invited to join a family on PFMS as {{ relationship }}.\n\nAccept it here: "
     "{{ app_url }}/family/invitations/{{ invitation_id }}{% if token %}?token={{ token }}{% endif %}\n\n-- PFMS"),
    ("system", "report.completed",
     "Your {{ report_type }} report is ready",
     "Download it ({{ format }}) before {{ expires_at }}.",
     "Your {{ report_type }} report is ready",
     "Hello,\n\nYour {{ report_type }} report ({{ format }}) is ready: {{ app_url }}{{ download_path }}\n"
     "It can be downloaded until {{ expires_at }}.\n\n-- PFMS"),
    ("system", "report.failed",
     "Your {{ report_type }} report could not be made",
     "{{ reason }}",
     "Your {{ report_type }} report could not be made",
     "Hello,\n\nYour {{ report_type }} report could not be made: {{ reason }}\n\n-- PFMS"),
]

# Fallbacks for any key without its own template; the in-app title and message feed them.
DEFAULTS = [
    ("in_app", "{{ title }}", "{{ message }}"),
    ("email", "{{ title }}", "Hello,\n\n{{ message }}\n{% if action_url %}\nOpen {{ app_url }}{{ action_url }}\n{% endif %}\n-- PFMS"),
    ("push", "{{ title }}", "{{ message }}"),
    ("sms", "{{ title }}", "PFMS: {{ title }}. {{ message }}"),
]


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("timezone", sa.String(), server_default="UTC", nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("digest", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("last_digest_on", sa.Date(), nullable=True),
        _updated(),
        sa.PrimaryKeyConstraint("user_id", name="pk_recipients"),
    )
    op.create_table(
        "channel_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "channel", "category", name="pk_channel_preferences"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False, comment="Template key: the event type that caused it"),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("reference_type", sa.String(), nullable=True),
        sa.Column("reference_id", sa.Uuid(), nullable=True),
        sa.Column("action_url", sa.String(), nullable=True),
        sa.Column("dedupe_key", sa.String(), nullable=True),
        sa.Column("data", JSONB(), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False, comment="Shown in the inbox (in_app switch on)"),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_id_dedupe_key"),
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", sa.text("created_at DESC")])
    op.create_index(
        "ix_notifications_user_unread", "notifications", ["user_id"], postgresql_where=sa.text("read_at IS NULL")
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False, comment="pending | sent | failed | digest | digested"),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_notification_deliveries"),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name="fk_notification_deliveries_notification_id_notifications",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_deliveries_due",
        "notification_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_deliveries_user", "notification_deliveries", ["user_id"])
    op.create_index("ix_notification_deliveries_notification_id", "notification_deliveries", ["notification_id"])
    op.create_table(
        "notification_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        _created(),
        _updated(),
        sa.PrimaryKeyConstraint("id", name="pk_notification_templates"),
        sa.UniqueConstraint("category", "channel", "key", name="uq_notification_templates_ck"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("user_id", "token", name="uq_devices_user_id_token"),
    )
    op.create_index("ix_devices_user_id", "devices", ["user_id"])
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("description", sa.String(), server_default="", nullable=False),
        sa.Column("event_types", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("mode", sa.String(), nullable=False, comment="structured | binary (CloudEvents HTTP)"),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _created(),
        _updated(),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
    )
    op.create_index("ix_webhook_endpoints_user_id", "webhook_endpoints", ["user_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("event", JSONB(), nullable=False, comment="The CloudEvent sent"),
        sa.Column("status", sa.String(), nullable=False, comment="pending | delivered | parked"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        _created(),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name="fk_webhook_deliveries_endpoint_id_webhook_endpoints",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_webhook_deliveries_endpoint_id", "webhook_deliveries", ["endpoint_id"])
    op.create_index("ix_webhook_deliveries_user_id", "webhook_deliveries", ["user_id"])
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    templates = sa.table(
        "notification_templates",
        sa.column("id", sa.Uuid()),
        sa.column("category", sa.String()),
        sa.column("channel", sa.String()),
        sa.column("key", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("body", sa.String()),
    )
    rows = []
    for category, key, title, message, subject, body in SEED:
        rows.append({"category": category, "channel": "in_app", "key": key, "subject": title, "body": message})
        rows.append({"category": category, "channel": "email", "key": key, "subject": subject, "body": body})
    for channel, subject, body in DEFAULTS:
        rows.append({"category": "system", "channel": channel, "key": "default", "subject": subject, "body": body})
    op.bulk_insert(templates, [{"id": uuid.uuid4(), **row} for row in rows])


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "webhook_endpoints",
        "devices",
        "notification_templates",
        "notification_deliveries",
        "notifications",
        "channel_preferences",
        "recipients",
    ):
        op.drop_table(table)
