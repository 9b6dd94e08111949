"""Groups, members, expenses with splits, payers and per-expense debts, settlements, recurring
expenses, messages and the activity feed.

Revision ID: 0002_groups
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002_groups'
down_revision: str | None = '0001_messaging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('finance_groups',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('group_type', sa.String(length=20), server_default='general', nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('simplify_debts', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('chat_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("group_type IN ('trip', 'party', 'office', 'event', 'general')", name=op.f('ck_finance_groups_group_type_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finance_groups'))
    )
    op.create_table('group_activities',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('actor_id', sa.UUID(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.UUID(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_activities_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_activities'))
    )
    op.create_index('ix_group_activities_group_created', 'group_activities', ['group_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_table('group_members',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('role', sa.String(length=10), server_default='member', nullable=False),
    sa.Column('status', sa.String(length=10), server_default='active', nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('invited_by', sa.UUID(), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'member', 'viewer')", name=op.f('ck_group_members_role_allowed')),
    sa.CheckConstraint("status IN ('invited', 'active', 'left', 'removed', 'deleted')", name=op.f('ck_group_members_status_allowed')),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_members_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_members')),
    sa.UniqueConstraint('group_id', 'user_id', name=op.f('uq_group_members_group_id'))
    )
    op.create_index(op.f('ix_group_members_user_id'), 'group_members', ['user_id'], unique=False)
    op.create_table('group_messages',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('message_type', sa.String(length=10), server_default='text', nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("message_type IN ('text', 'expense', 'system')", name=op.f('ck_group_messages_message_type_allowed')),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_messages_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_messages'))
    )
    op.create_index('ix_group_messages_group_created', 'group_messages', ['group_id', sa.literal_column('created_at DESC')], unique=False)
    op.create_index(op.f('ix_group_messages_user_id'), 'group_messages', ['user_id'], unique=False)
    op.create_table('group_recurring_expenses',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('split_type', sa.String(length=12), nullable=False),
    sa.Column('participants', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('payers', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('next_date', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("frequency IN ('daily', 'weekly', 'biweekly', 'monthly', 'quarterly', 'yearly')", name=op.f('ck_group_recurring_expenses_frequency_allowed')),
    sa.CheckConstraint("split_type IN ('equal', 'unequal', 'percentage', 'weight', 'custom')", name=op.f('ck_group_recurring_expenses_split_type_allowed')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_group_recurring_expenses_amount_positive')),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_recurring_expenses_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_recurring_expenses'))
    )
    op.create_index('ix_group_recurring_due', 'group_recurring_expenses', ['next_date'], unique=False, postgresql_where=sa.text('active'))
    op.create_table('settlements',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('from_user_id', sa.UUID(), nullable=False),
    sa.Column('to_user_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('settlement_date', sa.Date(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.UUID(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'completed', 'cancelled')", name=op.f('ck_settlements_status_allowed')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_settlements_amount_positive')),
    sa.CheckConstraint('from_user_id <> to_user_id', name=op.f('ck_settlements_distinct_parties')),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_settlements_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements'))
    )
    op.create_index('ix_settlements_group_status', 'settlements', ['group_id', 'status'], unique=False)
    op.create_table('group_expenses',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=10), server_default='expense', nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('expense_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False, comment='In `currency`, as entered.'),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('fx_rate', sa.Numeric(precision=20, scale=10), nullable=False, comment='Group currency per unit of `currency`.'),
    sa.Column('fx_source', sa.String(length=60), nullable=True),
    sa.Column('group_amount', sa.Numeric(precision=19, scale=4), nullable=False, comment="`amount` in the group's currency; shares add up to it."),
    sa.Column('split_type', sa.String(length=12), nullable=False),
    sa.Column('recurring_id', sa.UUID(), nullable=True),
    sa.Column('occurrence_date', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('expense', 'write_off')", name=op.f('ck_group_expenses_kind_allowed')),
    sa.CheckConstraint("split_type IN ('equal', 'unequal', 'percentage', 'weight', 'custom')", name=op.f('ck_group_expenses_split_type_allowed')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_group_expenses_amount_not_negative')),
    sa.CheckConstraint('fx_rate > 0', name=op.f('ck_group_expenses_fx_rate_positive')),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_expenses_group_id_finance_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recurring_id'], ['group_recurring_expenses.id'], name=op.f('fk_group_expenses_recurring_id_group_recurring_expenses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_expenses'))
    )
    op.create_index('ix_group_expenses_group_date', 'group_expenses', ['group_id', sa.literal_column('expense_date DESC'), 'id'], unique=False)
    op.create_index('uq_group_expenses_occurrence', 'group_expenses', ['recurring_id', 'occurrence_date'], unique=True, postgresql_where=sa.text('recurring_id IS NOT NULL'))
    op.create_table('expense_debts',
    sa.Column('expense_id', sa.UUID(), nullable=False),
    sa.Column('debtor_id', sa.UUID(), nullable=False),
    sa.Column('creditor_id', sa.UUID(), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_expense_debts_amount_positive')),
    sa.ForeignKeyConstraint(['expense_id'], ['group_expenses.id'], name=op.f('fk_expense_debts_expense_id_group_expenses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('expense_id', 'debtor_id', 'creditor_id', name=op.f('pk_expense_debts'))
    )
    op.create_index('ix_expense_debts_pair', 'expense_debts', ['group_id', 'debtor_id', 'creditor_id'], unique=False, postgresql_include=['amount'])
    op.create_table('expense_payers',
    sa.Column('expense_id', sa.UUID(), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('paid_amount > 0', name=op.f('ck_expense_payers_paid_positive')),
    sa.ForeignKeyConstraint(['expense_id'], ['group_expenses.id'], name=op.f('fk_expense_payers_expense_id_group_expenses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_payers')),
    sa.UniqueConstraint('expense_id', 'user_id', name=op.f('uq_expense_payers_expense_id'))
    )
    op.create_index('ix_expense_payers_balance', 'expense_payers', ['group_id', 'user_id'], unique=False, postgresql_include=['paid_amount'])
    op.create_table('expense_splits',
    sa.Column('expense_id', sa.UUID(), nullable=False),
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('share_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('share_percentage', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('weight', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('share_amount >= 0', name=op.f('ck_expense_splits_share_not_negative')),
    sa.ForeignKeyConstraint(['expense_id'], ['group_expenses.id'], name=op.f('fk_expense_splits_expense_id_group_expenses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_splits')),
    sa.UniqueConstraint('expense_id', 'user_id', name=op.f('uq_expense_splits_expense_id'))
    )
    op.create_index('ix_expense_splits_balance', 'expense_splits', ['group_id', 'user_id'], unique=False, postgresql_include=['share_amount'])


def downgrade() -> None:
    op.drop_index('ix_expense_splits_balance', table_name='expense_splits', postgresql_include=['share_amount'])
    op.drop_table('expense_splits')
    op.drop_index('ix_expense_payers_balance', table_name='expense_payers', postgresql_include=['paid_amount'])
    op.drop_table('expense_payers')
    op.drop_index('ix_expense_debts_pair', table_name='expense_debts', postgresql_include=['amount'])
    op.drop_table('expense_debts')
    op.drop_index('uq_group_expenses_occurrence', table_name='group_expenses', postgresql_where=sa.text('recurring_id IS NOT NULL'))
    op.drop_index('ix_group_expenses_group_date', table_name='group_expenses')
    op.drop_table('group_expenses')
    op.drop_index('ix_settlements_group_status', table_name='settlements')
    op.drop_table('settlements')
    op.drop_index('ix_group_recurring_due', table_name='group_recurring_expenses', postgresql_where=sa.text('active'))
    op.drop_table('group_recurring_expenses')
    op.drop_index(op.f('ix_group_messages_user_id'), table_name='group_messages')
    op.drop_index('ix_group_messages_group_created', table_name='group_messages')
    op.drop_table('group_messages')
    op.drop_index(op.f('ix_group_members_user_id'), table_name='group_members')
    op.drop_table('group_members')
    op.drop_index('ix_group_activities_group_created', table_name='group_activities')
    op.drop_table('group_activities')
    op.drop_table('finance_groups')
