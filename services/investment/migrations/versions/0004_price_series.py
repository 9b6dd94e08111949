"""Daily prices packed per symbol for analytics (`price_series`), filled from the existing `daily_prices`.

Revision ID: 0004_price_series
Revises: 0003_asset_states
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_price_series"
down_revision: str | None = "0003_asset_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_series",
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.Column("asset_class", sa.String(length=10), nullable=False),
        sa.Column("days", sa.LargeBinary(), nullable=False),
        sa.Column("prices", sa.LargeBinary(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("last_price", sa.Numeric(precision=24, scale=8), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "asset_class", name=op.f("pk_price_series")),
    )
    op.execute(
        "INSERT INTO price_series (symbol, asset_class, days, prices, first_day, last_day, last_price)"
        " SELECT symbol, asset_class, string_agg(int4send(day - DATE '0001-01-01' + 1), '' ORDER BY day),"
        " string_agg(float8send(price::float8), '' ORDER BY day), min(day), max(day),"
        " (array_agg(price ORDER BY day DESC))[1] FROM daily_prices GROUP BY symbol, asset_class"
    )


def downgrade() -> None:
    op.drop_table("price_series")
