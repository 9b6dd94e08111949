"""Contacts' phone, email and address encrypted (AES-256-GCM); phone and email get blind indexes for lookups

The per-user unique phone moves to the phone's blind index. Existing rows are encrypted in place with
the service's current field key (settings `PFMS_LOAN_FIELD_KEYS`); the downgrade decrypts them.

Revision ID: 0004_encrypted_contact_details
Revises: 0003_counterparty
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pfms_loan.settings import Settings
from pfms_platform.crypto import seal_rows

revision: str = "0004_encrypted_contact_details"
down_revision: str | None = "0003_counterparty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAIN = {"phone": sa.String(20), "email": sa.String(254), "address": sa.Text()}
INDEXED = ("phone", "email")


def upgrade() -> None:
    ring = Settings().field_keyring()
    op.drop_constraint("uq_contacts_user_id_phone", "contacts", type_="unique")
    for column in INDEXED:
        op.add_column("contacts", sa.Column(f"{column}_index", sa.String(64), nullable=True))
    for column, plain in PLAIN.items():
        op.alter_column("contacts", column, type_=sa.Text(), existing_type=plain)
        seal_rows(op.get_bind(), ring, "contacts", column, index=f"{column}_index" if column in INDEXED else None)
    op.create_unique_constraint("uq_contacts_user_id_phone_index", "contacts", ["user_id", "phone_index"])


def downgrade() -> None:
    ring = Settings().field_keyring()
    op.drop_constraint("uq_contacts_user_id_phone_index", "contacts", type_="unique")
    for column, plain in PLAIN.items():
        seal_rows(op.get_bind(), ring, "contacts", column, decrypt=True)
        op.alter_column("contacts", column, type_=plain, existing_type=sa.Text())
    for column in INDEXED:
        op.drop_column("contacts", f"{column}_index")
    op.create_unique_constraint("uq_contacts_user_id_phone", "contacts", ["user_id", "phone"])
