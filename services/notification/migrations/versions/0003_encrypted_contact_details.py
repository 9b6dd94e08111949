"""Recipients' email and phone, deliveries' address and webhook signing secrets encrypted (AES-256-GCM)

Existing rows are encrypted in place with the service's current field key (settings
`PFMS_NOTIFICATION_FIELD_KEYS`); the downgrade decrypts them.

Revision ID: 0003_encrypted_contact_details
Revises: 0002_notifications
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_notification.settings import Settings
from pfms_platform.crypto import seal_rows

revision: str = "0003_encrypted_contact_details"
down_revision: str | None = "0002_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("recipients", "email", "user_id"),
    ("recipients", "phone", "user_id"),
    ("notification_deliveries", "address", "id"),
    ("webhook_endpoints", "secret", "id"),
)


def upgrade() -> None:
    ring = Settings().field_keyring()
    for table, column, key in COLUMNS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String())
        seal_rows(op.get_bind(), ring, table, column, key=key)


def downgrade() -> None:
    ring = Settings().field_keyring()
    for table, column, key in COLUMNS:
        seal_rows(op.get_bind(), ring, table, column, key=key, decrypt=True)
        op.alter_column(table, column, type_=sa.String(), existing_type=sa.Text())
