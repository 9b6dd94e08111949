"""Expenses converted into the user's currency (rate and converted amount on the row) and the FX rate cache.

Revision ID: 0003_fx_conversion
Revises: 0002_expense_domain
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_fx_conversion"
down_revision: str | None = "0002_expense_domain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATE = sa.Numeric(24, 12)


def upgrade() -> None:
    op.add_column("expenses", sa.Column("user_currency", sa.String(3), comment="The currency converted into"))
    op.add_column("expenses", sa.Column("fx_rate", RATE, comment="user_currency per unit of currency"))
    op.add_column("expenses", sa.Column("amount_in_user_currency", sa.Numeric(19, 4)))
    op.create_index(
        "ix_expenses_unconverted",
        "expenses",
        ["user_id"],
        postgresql_where=sa.text("amount_in_user_currency IS NULL"),
    )
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.String(3), primary_key=True),
        sa.Column("quote", sa.String(3), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("rate", RATE, nullable=False, comment="Units of quote per unit of base"),
        sa.Column("rate_date", sa.Date(), nullable=False, comment="The business day the rate is from (day or before)"),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fx_rates")
    op.drop_index("ix_expenses_unconverted", table_name="expenses")
    for column in ("amount_in_user_currency", "fx_rate", "user_currency"):
        op.drop_column("expenses", column)
