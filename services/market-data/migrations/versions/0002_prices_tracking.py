"""Price history (asset_prices), tracked symbols and the refresh queue.

Revision ID: 0002_prices_tracking
Revises: 0001_messaging
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_prices_tracking"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICE = sa.Numeric(28, 10)


def upgrade() -> None:
    op.create_table(
        "asset_prices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(24), nullable=False),
        sa.Column("asset_class", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("close", PRICE, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_asset_prices"),
        sa.UniqueConstraint("symbol", "asset_class", "day", name="uq_asset_prices_symbol_class_day"),
    )
    op.create_table(
        "tracked_symbols",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(24), nullable=False),
        sa.Column("asset_class", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tracked_symbols"),
        sa.UniqueConstraint("user_id", "symbol", "asset_class", name="uq_tracked_symbols_user_symbol_class"),
    )
    op.create_index("ix_tracked_symbols_symbol_class", "tracked_symbols", ["symbol", "asset_class"])
    op.create_table(
        "refresh_queue",
        sa.Column("symbol", sa.String(24), nullable=False),
        sa.Column("asset_class", sa.String(8), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_price", PRICE, nullable=True),
        sa.Column("last_as_of", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("symbol", "asset_class", name="pk_refresh_queue"),
    )
    op.create_index("ix_refresh_queue_next_at", "refresh_queue", ["next_at"])


def downgrade() -> None:
    op.drop_index("ix_refresh_queue_next_at", table_name="refresh_queue")
    op.drop_table("refresh_queue")
    op.drop_index("ix_tracked_symbols_symbol_class", table_name="tracked_symbols")
    op.drop_table("tracked_symbols")
    op.drop_table("asset_prices")
