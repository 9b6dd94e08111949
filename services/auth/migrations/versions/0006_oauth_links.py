"""Sign-in with identity providers: the seed's oauth_providers rows get the provider's email, a
last-used time, and at most one identity per provider and user.

Revision ID: 0006_oauth_links
Revises: 0005_encrypted_secrets
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_oauth_links"
down_revision: str | None = "0005_encrypted_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("oauth_providers", sa.Column("email", sa.String(length=255), nullable=True))
    op.add_column("oauth_providers", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint(op.f("uq_oauth_providers_user_id"), "oauth_providers", ["user_id", "provider"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_oauth_providers_user_id"), "oauth_providers", type_="unique")
    op.drop_column("oauth_providers", "last_used_at")
    op.drop_column("oauth_providers", "email")
