"""Delivery preferences: quiet hours and the daily digest, now owned by the user service.

Every existing profile gets its row (quiet hours off, no digest), as `user.created` gives a new one.

Revision ID: 0003_delivery_preferences
Revises: 0002_profiles_preferences_family
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_delivery_preferences"
down_revision: str | None = "0002_profiles_preferences_family"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_preferences",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "quiet_start",
            sa.Time(),
            nullable=True,
            comment="Local time quiet hours begin; may be after quiet_end",
        ),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("digest", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_preferences"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_profiles.user_id"],
            name="fk_delivery_preferences_user_id_user_profiles",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("user_id", name="uq_delivery_preferences_user_id"),
        sa.CheckConstraint(
            "(quiet_start IS NULL) = (quiet_end IS NULL)", name="ck_delivery_preferences_quiet_hours_both_or_neither"
        ),
        sa.CheckConstraint(
            "quiet_start IS NULL OR quiet_start <> quiet_end", name="ck_delivery_preferences_quiet_hours_not_empty"
        ),
    )
    op.execute("INSERT INTO delivery_preferences (id, user_id) SELECT gen_random_uuid(), user_id FROM user_profiles")


def downgrade() -> None:
    op.drop_table("delivery_preferences")
