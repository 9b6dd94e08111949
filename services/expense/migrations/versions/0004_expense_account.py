"""An expense can name the account (accounts service) it was paid from.

Revision ID: 0004_expense_account
Revises: 0003_fx_conversion
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_expense_account"
down_revision: str | None = "0003_fx_conversion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "expenses",
        sa.Column("account_id", sa.Uuid(), nullable=True, comment="The account it was paid from (accounts service)"),
    )


def downgrade() -> None:
    op.drop_column("expenses", "account_id")
