"""Asset states maintained on write (analytics read them instead of replaying every transaction), and the
revision counter of a sell's realized gains.

Existing assets get their state on the first analytics request that finds it missing (replayed then).

Revision ID: 0003_asset_states
Revises: 0002_portfolios_lots_alerts
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_asset_states"
down_revision: str | None = "0002_portfolios_lots_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_states",
        sa.Column("asset_id", sa.UUID(), nullable=False),
        sa.Column("portfolio_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("cost_method", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("cost", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("realized", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("cost_in", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("last_trade_day", sa.Date(), nullable=True),
        sa.Column("last_trade_price", sa.Numeric(precision=24, scale=8), nullable=True),
        sa.Column("money_days", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("money_realized", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.Column("money_cost_in", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.Column("money_open_cost", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.Column("days", sa.LargeBinary(), nullable=False),
        sa.Column("quantities", sa.LargeBinary(), nullable=False),
        sa.Column("prices", sa.LargeBinary(), nullable=False),
        sa.Column("flows", sa.LargeBinary(), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_asset_states_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolios.id"], name=op.f("fk_asset_states_portfolio_id_portfolios"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_states")),
    )
    op.create_index(op.f("ix_asset_states_portfolio_id"), "asset_states", ["portfolio_id"], unique=False)
    op.create_index(op.f("ix_asset_states_user_id"), "asset_states", ["user_id"], unique=False)
    op.add_column(
        "investment_transactions", sa.Column("gain_revision", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("investment_transactions", "gain_revision")
    op.drop_index(op.f("ix_asset_states_user_id"), table_name="asset_states")
    op.drop_index(op.f("ix_asset_states_portfolio_id"), table_name="asset_states")
    op.drop_table("asset_states")
