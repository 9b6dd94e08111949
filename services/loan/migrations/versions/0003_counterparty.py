"""Contacts found by their linked app user: the counterparty's loans are read through this index

Revision ID: 0003_counterparty
Revises: 0002_loans
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_counterparty"
down_revision: str | None = "0002_loans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_linked_user_id",
        "contacts",
        ["linked_user_id"],
        unique=False,
        postgresql_where=sa.text("contact_type = 'app_user'"),
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_linked_user_id", table_name="contacts", postgresql_where=sa.text("contact_type = 'app_user'"))
