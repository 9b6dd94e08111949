"""Shared spaces: spaces, their memberships and their invitations

The user service is the source of truth of spaces; the other services keep the snapshots it
publishes (`space.membership_changed`) in the platform's read model (`space_members`).

Revision ID: 0005_spaces
Revises: 0004_encrypted_phone
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_spaces"
down_revision: str | None = "0004_encrypted_phone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _space_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], name=f"fk_{table}_space_id_spaces", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "spaces",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_spaces"),
        sa.CheckConstraint("kind IN ('household', 'business')", name="ck_spaces_kind_allowed"),
        sa.CheckConstraint("version >= 1", name="ck_spaces_version_positive"),
    )
    op.create_index("ix_spaces_owner_id", "spaces", ["owner_id"])
    op.create_table(
        "space_memberships",
        sa.Column("space_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("space_id", "user_id", name="pk_space_memberships"),
        _space_fk("space_memberships"),
        sa.CheckConstraint(
            "role IN ('owner', 'admin', 'member', 'viewer')", name="ck_space_memberships_role_allowed"
        ),
    )
    op.create_index("ix_space_memberships_user_id", "space_memberships", ["user_id"])
    op.create_table(
        "space_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("space_id", sa.Uuid(), nullable=False),
        sa.Column("inviter_user_id", sa.Uuid(), nullable=False),
        sa.Column("invitee_email", sa.String(320), nullable=False),
        sa.Column("invitee_user_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, comment="sha256 of the link token"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_space_invitations"),
        _space_fk("space_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_space_invitations_token_hash"),
        sa.CheckConstraint("role IN ('admin', 'member', 'viewer')", name="ck_space_invitations_role_allowed"),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'revoked')", name="ck_space_invitations_status_allowed"
        ),
    )
    op.create_index("ix_space_invitations_space_id", "space_invitations", ["space_id"])
    op.create_index("ix_space_invitations_inviter_user_id", "space_invitations", ["inviter_user_id"])
    op.create_index("ix_space_invitations_invitee_email", "space_invitations", ["invitee_email"])
    op.create_index(
        "uq_space_invitations_pending",
        "space_invitations",
        ["space_id", "invitee_email"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("space_invitations")
    op.drop_table("space_memberships")
    op.drop_table("spaces")
