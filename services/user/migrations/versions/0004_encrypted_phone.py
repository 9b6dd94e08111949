"""Profiles' phone numbers encrypted (AES-256-GCM)

Existing rows are encrypted in place with the service's current field key (settings
`PFMS_USER_FIELD_KEYS`); the downgrade decrypts them. The email stays plaintext: it is the key the
family invitations and the internal lookup match on, and auth holds it in the clear as the login.

Revision ID: 0004_encrypted_phone
Revises: 0003_delivery_preferences
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_platform.crypto import seal_rows
from pfms_user.settings import Settings

revision: str = "0004_encrypted_phone"
down_revision: str | None = "0003_delivery_preferences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("user_profiles", "phone", type_=sa.Text(), existing_type=sa.String(20))
    seal_rows(op.get_bind(), Settings().field_keyring(), "user_profiles", "phone")


def downgrade() -> None:
    seal_rows(op.get_bind(), Settings().field_keyring(), "user_profiles", "phone", decrypt=True)
    op.alter_column("user_profiles", "phone", type_=sa.String(20), existing_type=sa.Text())
