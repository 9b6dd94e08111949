"""Accounts, the double-entry ledger, exchange quotes, idempotency keys, holders

Revision ID: 0002_ledger
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002_ledger'
down_revision: str | None = '0001_messaging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('institution', sa.String(length=200), nullable=True),
    sa.Column('opening_balance', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('balance', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('overdraft_limit', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('portfolio_id', sa.UUID(), nullable=True),
    sa.Column('loan_id', sa.UUID(), nullable=True),
    sa.Column('archived', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("loan_id IS NULL OR type = 'loan'", name=op.f('ck_accounts_loan_loan')),
    sa.CheckConstraint("overdraft_limit IS NULL OR (type = 'wallet' AND overdraft_limit >= 0)", name=op.f('ck_accounts_overdraft_wallet')),
    sa.CheckConstraint("portfolio_id IS NULL OR type = 'investment'", name=op.f('ck_accounts_portfolio_investment')),
    sa.CheckConstraint("type IN ('checking', 'savings', 'credit_card', 'cash', 'wallet', 'investment', 'loan', 'property', 'vehicle', 'external')", name=op.f('ck_accounts_type_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    op.create_index('ix_accounts_user_id_created_at', 'accounts', ['user_id', 'created_at'], unique=False)
    op.create_index('uq_accounts_external', 'accounts', ['user_id', 'currency'], unique=True, postgresql_where=sa.text("type = 'external'"))
    op.create_table('holders',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_holders'))
    )
    op.create_table('idempotency_keys',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_index('ix_idempotency_keys_expires_at', 'idempotency_keys', ['expires_at'], unique=False)
    op.create_table('journal_entries',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('source_ref', sa.String(length=100), nullable=True),
    sa.Column('rate', sa.Numeric(precision=24, scale=12), nullable=True),
    sa.Column('fee', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("kind IN ('opening', 'transfer', 'exchange', 'adjustment', 'expense', 'income')", name=op.f('ck_journal_entries_kind_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries'))
    )
    op.create_index('ix_journal_entries_user_id_created_at', 'journal_entries', ['user_id', 'created_at'], unique=False)
    op.create_index('uq_journal_entries_source', 'journal_entries', ['user_id', 'source_ref'], unique=True)
    op.create_table('fx_quotes',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('from_account_id', sa.UUID(), nullable=False),
    sa.Column('to_account_id', sa.UUID(), nullable=False),
    sa.Column('sell_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('sell_currency', sa.String(length=3), nullable=False),
    sa.Column('buy_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('buy_currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=24, scale=12), nullable=False),
    sa.Column('fee', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entry_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_fx_quotes_entry_id_journal_entries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_account_id'], ['accounts.id'], name=op.f('fk_fx_quotes_from_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_account_id'], ['accounts.id'], name=op.f('fk_fx_quotes_to_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fx_quotes'))
    )
    op.create_index('ix_fx_quotes_user_id', 'fx_quotes', ['user_id'], unique=False)
    op.create_table('postings',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('entry_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('balance_after', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_postings_amount_not_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_postings_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_postings_entry_id_journal_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_postings'))
    )
    op.create_index('ix_postings_account_id_created_at', 'postings', ['account_id', 'created_at', 'seq'], unique=False)
    op.create_index('ix_postings_entry_id', 'postings', ['entry_id'], unique=False)
    op.create_index('ix_postings_user_id', 'postings', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_postings_user_id', table_name='postings')
    op.drop_index('ix_postings_entry_id', table_name='postings')
    op.drop_index('ix_postings_account_id_created_at', table_name='postings')
    op.drop_table('postings')
    op.drop_index('ix_fx_quotes_user_id', table_name='fx_quotes')
    op.drop_table('fx_quotes')
    op.drop_index('uq_journal_entries_source', table_name='journal_entries')
    op.drop_index('ix_journal_entries_user_id_created_at', table_name='journal_entries')
    op.drop_table('journal_entries')
    op.drop_index('ix_idempotency_keys_expires_at', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
    op.drop_table('holders')
    op.drop_index('uq_accounts_external', table_name='accounts', postgresql_where=sa.text("type = 'external'"))
    op.drop_index('ix_accounts_user_id_created_at', table_name='accounts')
    op.drop_table('accounts')
