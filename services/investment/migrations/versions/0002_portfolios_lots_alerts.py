"""Portfolios, assets, transactions (lots are replayed from them), prices, FX cache, snapshots, watchlist, alerts.

Revision ID: 0002_portfolios_lots_alerts
Revises: 0001_messaging
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002_portfolios_lots_alerts'
down_revision: str | None = '0001_messaging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('daily_prices',
    sa.Column('symbol', sa.String(length=20), nullable=False),
    sa.Column('asset_class', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('symbol', 'asset_class', 'day', name=op.f('pk_daily_prices'))
    )
    op.create_table('cached_fx_rates',
    sa.Column('base', sa.String(length=3), nullable=False),
    sa.Column('quote', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rate', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('base', 'quote', 'day', name=op.f('pk_cached_fx_rates'))
    )
    op.create_table('portfolios',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('cost_method', sa.String(length=10), server_default='fifo', nullable=False),
    sa.Column('benchmark_symbol', sa.String(length=20), nullable=True),
    sa.Column('benchmark_asset_class', sa.String(length=10), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolios')),
    sa.UniqueConstraint('user_id', 'name', name='uq_portfolios_user_name')
    )
    op.create_index(op.f('ix_portfolios_user_id'), 'portfolios', ['user_id'], unique=False)
    op.create_table('price_alerts',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('symbol', sa.String(length=20), nullable=False),
    sa.Column('asset_class', sa.String(length=10), nullable=False),
    sa.Column('condition', sa.String(length=15), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=24, scale=8), nullable=False),
    sa.Column('reference_price', sa.Numeric(precision=24, scale=8), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='active', nullable=False),
    sa.Column('triggered_price', sa.Numeric(precision=24, scale=8), nullable=True),
    sa.Column('triggered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_alerts'))
    )
    op.create_index('ix_price_alerts_active_symbol', 'price_alerts', ['symbol', 'asset_class', 'status'], unique=False)
    op.create_index(op.f('ix_price_alerts_user_id'), 'price_alerts', ['user_id'], unique=False)
    op.create_table('watchlist',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('symbol', sa.String(length=20), nullable=False),
    sa.Column('asset_class', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist')),
    sa.UniqueConstraint('user_id', 'symbol', 'asset_class', name='uq_watchlist_user_symbol')
    )
    op.create_index(op.f('ix_watchlist_user_id'), 'watchlist', ['user_id'], unique=False)
    op.create_table('assets',
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('asset_type', sa.String(length=20), nullable=False),
    sa.Column('symbol', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('sector', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('manual_price', sa.Numeric(precision=24, scale=8), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_assets_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assets')),
    sa.UniqueConstraint('portfolio_id', 'symbol', name='uq_assets_portfolio_symbol')
    )
    op.create_index(op.f('ix_assets_portfolio_id'), 'assets', ['portfolio_id'], unique=False)
    op.create_index(op.f('ix_assets_user_id'), 'assets', ['user_id'], unique=False)
    op.create_table('portfolio_snapshots',
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('snapshot_date', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_value', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('invested', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('total_return', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('return_percent', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('allocation', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_portfolio_snapshots_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolio_snapshots')),
    sa.UniqueConstraint('portfolio_id', 'snapshot_date', name='uq_portfolio_snapshots_day')
    )
    op.create_index(op.f('ix_portfolio_snapshots_user_id'), 'portfolio_snapshots', ['user_id'], unique=False)
    op.create_table('investment_transactions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('asset_id', sa.UUID(), nullable=False),
    sa.Column('transaction_type', sa.String(length=20), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=20, scale=8), server_default='0', nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=8), server_default='0', nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), server_default='0', nullable=False),
    sa.Column('fees', sa.Numeric(precision=19, scale=4), server_default='0', nullable=False),
    sa.Column('tax', sa.Numeric(precision=19, scale=4), server_default='0', nullable=False),
    sa.Column('trade_date', sa.Date(), nullable=False),
    sa.Column('lots', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_investment_transactions_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], name=op.f('fk_investment_transactions_portfolio_id_portfolios'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_investment_transactions')),
    sa.UniqueConstraint('seq', name=op.f('uq_investment_transactions_seq'))
    )
    op.create_index(op.f('ix_investment_transactions_asset_id'), 'investment_transactions', ['asset_id'], unique=False)
    op.create_index('ix_investment_transactions_portfolio_order', 'investment_transactions', ['portfolio_id', 'trade_date', 'seq'], unique=False)
    op.create_index(op.f('ix_investment_transactions_user_id'), 'investment_transactions', ['user_id'], unique=False)
    op.create_table('manual_prices',
    sa.Column('asset_id', sa.UUID(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=8), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_manual_prices_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', 'day', name=op.f('pk_manual_prices'))
    )


def downgrade() -> None:
    op.drop_table('manual_prices')
    op.drop_index(op.f('ix_investment_transactions_user_id'), table_name='investment_transactions')
    op.drop_index('ix_investment_transactions_portfolio_order', table_name='investment_transactions')
    op.drop_index(op.f('ix_investment_transactions_asset_id'), table_name='investment_transactions')
    op.drop_table('investment_transactions')
    op.drop_index(op.f('ix_portfolio_snapshots_user_id'), table_name='portfolio_snapshots')
    op.drop_table('portfolio_snapshots')
    op.drop_index(op.f('ix_assets_user_id'), table_name='assets')
    op.drop_index(op.f('ix_assets_portfolio_id'), table_name='assets')
    op.drop_table('assets')
    op.drop_index(op.f('ix_watchlist_user_id'), table_name='watchlist')
    op.drop_table('watchlist')
    op.drop_index(op.f('ix_price_alerts_user_id'), table_name='price_alerts')
    op.drop_index('ix_price_alerts_active_symbol', table_name='price_alerts')
    op.drop_table('price_alerts')
    op.drop_index(op.f('ix_portfolios_user_id'), table_name='portfolios')
    op.drop_table('portfolios')
    op.drop_table('cached_fx_rates')
    op.drop_table('daily_prices')
