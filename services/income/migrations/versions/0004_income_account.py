"""An income transaction can name the account (accounts service) it was paid into.

Revision ID: 0004_income_account
Revises: 0003_loan_instalments
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_income_account"
down_revision: str | None = "0003_loan_instalments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "income_transactions",
        sa.Column("account_id", sa.Uuid(), nullable=True, comment="The account it was paid into (accounts service)"),
    )


def downgrade() -> None:
    op.drop_column("income_transactions", "account_id")
