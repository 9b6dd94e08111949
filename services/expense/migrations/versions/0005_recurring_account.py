"""A recurring expense can name the account its occurrences are paid from.

Revision ID: 0005_recurring_account
Revises: 0004_expense_account
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_recurring_account"
down_revision: str | None = "0004_expense_account"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "recurring_expenses",
        sa.Column("account_id", sa.Uuid(), nullable=True, comment="The account its occurrences are paid from"),
    )


def downgrade() -> None:
    op.drop_column("recurring_expenses", "account_id")
