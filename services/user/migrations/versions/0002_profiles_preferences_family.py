"""Profiles, financial / privacy / notification preferences, and family invitations.

Revision ID: 0002_profiles_preferences_family
Revises: 0001_messaging
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002_profiles_preferences_family"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(19, 4)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid(), primary_key=True)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _owner(table: str, unique: bool) -> list[Any]:
    items: list[Any] = [
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_profiles.user_id"], name=f"fk_{table}_user_id_user_profiles", ondelete="CASCADE"
        ),
    ]
    if unique:
        items.append(sa.UniqueConstraint("user_id", name=f"uq_{table}_user_id"))
    return items


def upgrade() -> None:
    op.create_table(
        "user_profiles",
        _id(),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, comment="From user.created, lower-cased; never logged."),
        sa.Column("first_name", sa.String(100), nullable=True),
        sa.Column("last_name", sa.String(100), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(3), server_default="USD", nullable=False),
        sa.Column("timezone", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("language", sa.String(35), server_default="en", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_user_profiles"),
        sa.UniqueConstraint("user_id", name="uq_user_profiles_user_id"),
    )
    op.create_index("ix_user_profiles_email", "user_profiles", ["email"])
    op.create_table(
        "financial_preferences",
        _id(),
        *_owner("financial_preferences", unique=True),
        sa.Column("daily_budget_limit", MONEY, nullable=True),
        sa.Column("monthly_budget_limit", MONEY, nullable=True),
        sa.Column("savings_target", MONEY, nullable=True),
        sa.Column("investment_risk_level", sa.String(20), server_default="medium", nullable=False),
        sa.Column("salary_day", sa.Integer(), nullable=True),
        sa.Column("earning_schedule", sa.String(20), server_default="monthly", nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_financial_preferences"),
        sa.CheckConstraint(
            "investment_risk_level IN ('low', 'medium', 'high')",
            name="ck_financial_preferences_investment_risk_level_allowed",
        ),
        sa.CheckConstraint(
            "earning_schedule IN ('weekly', 'biweekly', 'semimonthly', 'monthly', 'irregular')",
            name="ck_financial_preferences_earning_schedule_allowed",
        ),
        sa.CheckConstraint("salary_day BETWEEN 1 AND 31", name="ck_financial_preferences_salary_day_range"),
        sa.CheckConstraint(
            "daily_budget_limit >= 0 AND monthly_budget_limit >= 0 AND savings_target >= 0",
            name="ck_financial_preferences_money_not_negative",
        ),
    )
    op.create_table(
        "privacy_settings",
        _id(),
        *_owner("privacy_settings", unique=True),
        sa.Column("profile_visibility", sa.String(20), server_default="private", nullable=False),
        sa.Column("show_net_worth", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("allow_analytics", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("data_sharing", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_settings"),
        sa.CheckConstraint(
            "profile_visibility IN ('private', 'family', 'public')",
            name="ck_privacy_settings_profile_visibility_allowed",
        ),
    )
    op.create_table(
        "notification_preferences",
        _id(),
        *_owner("notification_preferences", unique=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_notification_preferences"),
        sa.UniqueConstraint(
            "user_id", "channel", "category", name="uq_notification_preferences_user_channel_category"
        ),
        sa.CheckConstraint(
            "channel IN ('push', 'email', 'sms', 'in_app')", name="ck_notification_preferences_channel_allowed"
        ),
        sa.CheckConstraint(
            "category IN ('expense', 'income', 'investment', 'loan', 'group', 'tax', 'savings', 'security', 'system')",
            name="ck_notification_preferences_category_allowed",
        ),
    )
    op.create_table(
        "family_members",
        _id(),
        sa.Column("inviter_user_id", sa.Uuid(), nullable=False),
        sa.Column("invitee_email", sa.String(320), nullable=False),
        sa.Column("invitee_user_id", sa.Uuid(), nullable=True),
        sa.Column("relationship", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), server_default="pending", nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, comment="sha256 of the link token"),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_family_members"),
        sa.ForeignKeyConstraint(
            ["inviter_user_id"],
            ["user_profiles.user_id"],
            name="fk_family_members_inviter_user_id_user_profiles",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invitee_user_id"],
            ["user_profiles.user_id"],
            name="fk_family_members_invitee_user_id_user_profiles",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name="uq_family_members_token_hash"),
        sa.CheckConstraint(
            "relationship IN ('spouse', 'partner', 'child', 'parent', 'sibling', 'other')",
            name="ck_family_members_relationship_allowed",
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'removed')", name="ck_family_members_status_allowed"
        ),
    )
    op.create_index("ix_family_members_inviter_user_id", "family_members", ["inviter_user_id"])
    op.create_index("ix_family_members_invitee_user_id", "family_members", ["invitee_user_id"])
    op.create_index("ix_family_members_invitee_email", "family_members", ["invitee_email"])
    op.create_index(
        "uq_family_members_live_invite",
        "family_members",
        ["inviter_user_id", "invitee_email"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'accepted')"),
    )


def downgrade() -> None:
    op.drop_table("family_members")
    op.drop_table("notification_preferences")
    op.drop_table("privacy_settings")
    op.drop_table("financial_preferences")
    op.drop_table("user_profiles")
