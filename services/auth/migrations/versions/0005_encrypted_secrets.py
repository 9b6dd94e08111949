"""TOTP secrets and OAuth provider tokens as AES-256-GCM `Encrypted` columns under the field keys

TOTP secrets were Fernet-sealed with the key-encryption key: they are unsealed and re-encrypted with
the service's current field key (settings `PFMS_AUTH_FIELD_KEYS`), bound to their column and rotated
with `pfms-rekey auth`; the key-encryption key keeps sealing the private signing keys only. Provider
tokens (no flow writes them yet) are encrypted in place. The downgrade restores the Fernet seals.

Revision ID: 0005_encrypted_secrets
Revises: 0004_audit_events
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_auth import keys
from pfms_auth.settings import Settings
from pfms_platform.crypto import seal_rows

revision: str = "0005_encrypted_secrets"
down_revision: str | None = "0004_audit_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENS = ("access_token", "refresh_token")
SECRETS = sa.table("mfa_settings", sa.column("id"), sa.column("secret_encrypted", sa.Text()))


def _reseal(unseal: bool) -> None:
    """Fernet → plaintext (`unseal`) or back, inside the migration's transaction."""
    box = keys.sealer(Settings().key_encryption_key)
    connection = op.get_bind()
    rows = connection.execute(sa.select(SECRETS.c.id, SECRETS.c.secret_encrypted)).all()
    change = (lambda v: box.decrypt(v.encode()).decode()) if unseal else (lambda v: box.encrypt(v.encode()).decode())
    for ident, value in rows:
        connection.execute(SECRETS.update().where(SECRETS.c.id == ident).values(secret_encrypted=change(value)))


def upgrade() -> None:
    ring = Settings().field_keyring()
    _reseal(unseal=True)
    seal_rows(op.get_bind(), ring, "mfa_settings", "secret_encrypted")
    for column in TOKENS:
        seal_rows(op.get_bind(), ring, "oauth_providers", column)


def downgrade() -> None:
    ring = Settings().field_keyring()
    for column in TOKENS:
        seal_rows(op.get_bind(), ring, "oauth_providers", column, decrypt=True)
    seal_rows(op.get_bind(), ring, "mfa_settings", "secret_encrypted", decrypt=True)
    _reseal(unseal=False)
