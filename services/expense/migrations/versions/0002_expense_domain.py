"""The expense domain: categories, expenses, recurring expenses, habits, budgets and imports.

pg_trgm backs the case-insensitive search on expense descriptions (contrib ships it with PostgreSQL).

Revision ID: 0002_expense_domain
Revises: 0001_messaging
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_expense_domain"
down_revision: str | None = "0001_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('expense_categories',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('icon', sa.String(length=50), nullable=True),
    sa.Column('color', sa.String(length=7), nullable=True),
    sa.Column('parent_category_id', sa.UUID(), nullable=True),
    sa.Column('is_system', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("color ~ '^#[0-9A-Fa-f]{6}$'", name=op.f('ck_expense_categories_color_hex')),
    sa.ForeignKeyConstraint(['parent_category_id'], ['expense_categories.id'], name=op.f('fk_expense_categories_parent_category_id_expense_categories'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expense_categories')),
    sa.UniqueConstraint('user_id', 'name', name='uq_expense_categories_user_name')
    )
    op.create_index(op.f('ix_expense_categories_parent_category_id'), 'expense_categories', ['parent_category_id'], unique=False)
    op.create_index(op.f('ix_expense_categories_user_id'), 'expense_categories', ['user_id'], unique=False)
    op.create_table('habits',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('unit_cost', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('icon', sa.String(length=50), nullable=True),
    sa.Column('target_reduction', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('baseline_per_week', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('baseline_per_week IS NULL OR baseline_per_week >= 0', name=op.f('ck_habits_baseline_not_negative')),
    sa.CheckConstraint('target_reduction BETWEEN 0 AND 100', name=op.f('ck_habits_target_reduction_percent')),
    sa.CheckConstraint('unit_cost >= 0', name=op.f('ck_habits_unit_cost_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_habits')),
    sa.UniqueConstraint('user_id', 'name', name='uq_habits_user_name')
    )
    op.create_index(op.f('ix_habits_user_id'), 'habits', ['user_id'], unique=False)
    op.create_table('import_batches',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_bytes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('total_rows', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('successful_rows', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('duplicate_rows', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('failed_rows', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('skipped_rows', sa.Integer(), server_default=sa.text('0'), nullable=False, comment='Money in: not expenses'),
    sa.Column('processed_bytes', sa.Integer(), server_default=sa.text('0'), nullable=False, comment='Progress of the parser'),
    sa.Column('message', sa.Text(), nullable=True, comment='Why a failed file changed nothing'),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("format IN ('csv', 'ofx', 'qif', 'camt053')", name=op.f('ck_import_batches_format_allowed')),
    sa.CheckConstraint("status IN ('pending', 'processing', 'completed', 'failed')", name=op.f('ck_import_batches_status_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    op.create_index(op.f('ix_import_batches_user_id'), 'import_batches', ['user_id'], unique=False)
    op.create_table('import_mappings',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('mapping', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('user_id', 'name', name='uq_import_mappings_user_name')
    )
    op.create_index(op.f('ix_import_mappings_user_id'), 'import_mappings', ['user_id'], unique=False)
    op.create_table('user_settings',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='USD', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_settings'))
    )
    op.create_table('budgets',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category_id', sa.UUID(), nullable=True, comment='NULL: every category'),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('rollover', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('alert_thresholds', postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{50,80,100}'"), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("period <> 'custom' OR end_date IS NOT NULL", name=op.f('ck_budgets_custom_has_end')),
    sa.CheckConstraint("period IN ('weekly', 'monthly', 'yearly', 'custom')", name=op.f('ck_budgets_period_allowed')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_budgets_amount_positive')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_budgets_end_after_start')),
    sa.ForeignKeyConstraint(['category_id'], ['expense_categories.id'], name=op.f('fk_budgets_category_id_expense_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets'))
    )
    op.create_index(op.f('ix_budgets_category_id'), 'budgets', ['category_id'], unique=False)
    op.create_index(op.f('ix_budgets_user_id'), 'budgets', ['user_id'], unique=False)
    op.create_table('habit_logs',
    sa.Column('habit_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('total_cost', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('log_date', sa.Date(), nullable=False),
    sa.Column('log_time', sa.Time(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_habit_logs_quantity_positive')),
    sa.ForeignKeyConstraint(['habit_id'], ['habits.id'], name=op.f('fk_habit_logs_habit_id_habits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_habit_logs'))
    )
    op.create_index('ix_habit_logs_habit_date', 'habit_logs', ['habit_id', sa.literal_column('log_date DESC')], unique=False)
    op.create_index('ix_habit_logs_user_date', 'habit_logs', ['user_id', sa.literal_column('log_date DESC')], unique=False)
    op.create_table('import_issues',
    sa.Column('batch_id', sa.UUID(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('error', 'duplicate', 'skipped')", name=op.f('ck_import_issues_kind_allowed')),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], name=op.f('fk_import_issues_batch_id_import_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', 'row_number', name=op.f('pk_import_issues'))
    )
    op.create_table('recurring_expenses',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('category_id', sa.UUID(), nullable=True),
    sa.Column('payment_method', sa.String(length=50), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('frequency', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('next_due_date', sa.Date(), nullable=True, comment='NULL once the schedule has ended'),
    sa.Column('last_paid_date', sa.Date(), nullable=True, comment='Latest occurrence materialised'),
    sa.Column('reminded_for', sa.Date(), nullable=True, comment='Due date the last reminder was sent for'),
    sa.Column('auto_pay', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('reminder_days', sa.Integer(), server_default=sa.text('3'), nullable=False),
    sa.Column('inflation_rate', sa.Numeric(precision=7, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("frequency IN ('daily', 'weekly', 'biweekly', 'monthly', 'quarterly', 'yearly')", name=op.f('ck_recurring_expenses_frequency_allowed')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_recurring_expenses_amount_positive')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_recurring_expenses_end_after_start')),
    sa.CheckConstraint('reminder_days BETWEEN 0 AND 365', name=op.f('ck_recurring_expenses_reminder_days_range')),
    sa.ForeignKeyConstraint(['category_id'], ['expense_categories.id'], name=op.f('fk_recurring_expenses_category_id_expense_categories'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recurring_expenses'))
    )
    op.create_index('ix_recurring_expenses_due', 'recurring_expenses', ['next_due_date'], unique=False, postgresql_where=sa.text('is_active'))
    op.create_index(op.f('ix_recurring_expenses_user_id'), 'recurring_expenses', ['user_id'], unique=False)
    op.create_table('budget_crossings',
    sa.Column('budget_id', sa.UUID(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('spent', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('crossed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['budget_id'], ['budgets.id'], name=op.f('fk_budget_crossings_budget_id_budgets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('budget_id', 'period_start', 'threshold', name=op.f('pk_budget_crossings'))
    )
    op.create_index(op.f('ix_budget_crossings_user_id'), 'budget_crossings', ['user_id'], unique=False)
    op.create_table('expenses',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('category_id', sa.UUID(), nullable=True),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('expense_date', sa.Date(), nullable=False),
    sa.Column('expense_time', sa.Time(), nullable=True),
    sa.Column('location', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('payment_method', sa.String(length=50), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('attachments', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False),
    sa.Column('source', sa.String(length=20), server_default='manual', nullable=False),
    sa.Column('recurring_expense_id', sa.UUID(), nullable=True),
    sa.Column('occurrence_date', sa.Date(), nullable=True, comment='The schedule date this expense pays'),
    sa.Column('import_batch_id', sa.UUID(), nullable=True, comment="The import that added it. No foreign key: checking one per row cost ~0.8 s per 100,000 imported rows, and batches are only ever deleted with their user's expenses"),
    sa.Column('fingerprint', sa.UUID(), nullable=True, comment='Import dedupe key (see imports/rows.py)'),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("source IN ('manual', 'voice', 'import', 'recurring', 'auto')", name=op.f('ck_expenses_source_allowed')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_expenses_amount_positive')),
    sa.ForeignKeyConstraint(['category_id'], ['expense_categories.id'], name=op.f('fk_expenses_category_id_expense_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recurring_expense_id'], ['recurring_expenses.id'], name=op.f('fk_expenses_recurring_expense_id_recurring_expenses'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expenses'))
    )
    op.create_index('uq_expenses_recurring_occurrence', 'expenses', ['recurring_expense_id', 'occurrence_date'], unique=True, postgresql_where=sa.text('recurring_expense_id IS NOT NULL'))
    op.create_index('ix_expenses_description_trgm', 'expenses', ['description'], unique=False, postgresql_using='gin', postgresql_ops={'description': 'gin_trgm_ops'}, postgresql_with={'gin_pending_list_limit': 65536})
    op.create_index('ix_expenses_tags', 'expenses', ['tags'], unique=False, postgresql_using='gin', postgresql_where=sa.text("tags <> '{}'::text[]"))
    op.create_index('ix_expenses_user_category_date', 'expenses', ['user_id', 'category_id', sa.literal_column('expense_date DESC')], unique=False)
    op.create_index('ix_expenses_user_date', 'expenses', ['user_id', sa.literal_column('expense_date DESC'), sa.literal_column('id DESC')], unique=False)
    op.create_index('ix_expenses_user_fingerprint', 'expenses', ['user_id', 'fingerprint'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_expenses_user_fingerprint', table_name='expenses')
    op.drop_index('uq_expenses_recurring_occurrence', table_name='expenses', postgresql_where=sa.text('recurring_expense_id IS NOT NULL'))
    op.drop_index('ix_expenses_user_date', table_name='expenses')
    op.drop_index('ix_expenses_user_category_date', table_name='expenses')
    op.drop_index('ix_expenses_tags', table_name='expenses', postgresql_using='gin', postgresql_where=sa.text("tags <> '{}'::text[]"))
    op.drop_index('ix_expenses_description_trgm', table_name='expenses', postgresql_using='gin', postgresql_ops={'description': 'gin_trgm_ops'})
    op.drop_table('expenses')
    op.drop_index(op.f('ix_budget_crossings_user_id'), table_name='budget_crossings')
    op.drop_table('budget_crossings')
    op.drop_index(op.f('ix_recurring_expenses_user_id'), table_name='recurring_expenses')
    op.drop_index('ix_recurring_expenses_due', table_name='recurring_expenses', postgresql_where=sa.text('is_active'))
    op.drop_table('recurring_expenses')
    op.drop_table('import_issues')
    op.drop_index('ix_habit_logs_user_date', table_name='habit_logs')
    op.drop_index('ix_habit_logs_habit_date', table_name='habit_logs')
    op.drop_table('habit_logs')
    op.drop_index(op.f('ix_budgets_user_id'), table_name='budgets')
    op.drop_index(op.f('ix_budgets_category_id'), table_name='budgets')
    op.drop_table('budgets')
    op.drop_table('user_settings')
    op.drop_index(op.f('ix_import_mappings_user_id'), table_name='import_mappings')
    op.drop_table('import_mappings')
    op.drop_index(op.f('ix_import_batches_user_id'), table_name='import_batches')
    op.drop_table('import_batches')
    op.drop_index(op.f('ix_habits_user_id'), table_name='habits')
    op.drop_table('habits')
    op.drop_index(op.f('ix_expense_categories_user_id'), table_name='expense_categories')
    op.drop_index(op.f('ix_expense_categories_parent_category_id'), table_name='expense_categories')
    op.drop_table('expense_categories')
