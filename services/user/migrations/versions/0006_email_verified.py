"""Profiles remember whether their address is verified (only a verified invitee answers invitations)

Existing profiles start unverified: nothing in this database proves their mailbox, and taking them
as verified would let a squatter of someone else's address keep the hole open. A person made
verified before this revision verifies again (a new link: `POST /api/v1/auth/verify-email/resend`),
and auth publishes `user.email_verified` for it.

Revision ID: 0006_email_verified
Revises: 0005_spaces
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_email_verified"
down_revision: str | None = "0005_spaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user_profiles",
        sa.Column(
            "email_verified",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
            comment="From user.created / user.email_verified, for this address only.",
        ),
    )


def downgrade() -> None:
    op.drop_column("user_profiles", "email_verified")
