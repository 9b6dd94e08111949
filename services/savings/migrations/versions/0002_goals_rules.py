"""Goals, contributions and withdrawals, milestones reached, auto-save rules, the expense read model

Revision ID: 0002_goals_rules
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002_goals_rules'
down_revision: str | None = '0001_messaging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('spending_facts',
    sa.Column('expense_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expense_date', sa.Date(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('expense_id', name=op.f('pk_spending_facts'))
    )
    op.create_index('ix_spending_facts_user_id_expense_date', 'spending_facts', ['user_id', 'expense_date'], unique=False)
    op.create_table('goals',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), server_default=sa.text("'active'"), nullable=False),
    sa.Column('target_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('saved_amount', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('notes', sa.String(length=1000), nullable=True),
    sa.Column('achieved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('emergency_fund', 'retirement', 'education', 'home', 'vehicle', 'travel', 'wedding', 'debt_payoff', 'investment', 'other')", name=op.f('ck_goals_category_allowed')),
    sa.CheckConstraint("priority IN ('low', 'medium', 'high')", name=op.f('ck_goals_priority_allowed')),
    sa.CheckConstraint("status IN ('active', 'paused', 'archived')", name=op.f('ck_goals_status_allowed')),
    sa.CheckConstraint('saved_amount >= 0', name=op.f('ck_goals_saved_amount_not_negative')),
    sa.CheckConstraint('target_amount > 0', name=op.f('ck_goals_target_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goals'))
    )
    op.create_index('ix_goals_user_id_created_at', 'goals', ['user_id', 'created_at'], unique=False)
    op.create_table('auto_save_rules',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('goal_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('round_up_unit', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('percent', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('frequency', sa.String(length=10), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('next_run_on', sa.Date(), nullable=True),
    sa.Column('last_run_on', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'round_up' AND round_up_unit IN (1, 5, 10)) OR (kind = 'income_percent' AND percent > 0 AND percent <= 100) OR (kind = 'scheduled' AND amount > 0 AND frequency IN ('daily', 'weekly', 'monthly') AND start_date IS NOT NULL AND next_run_on IS NOT NULL)", name=op.f('ck_auto_save_rules_kind_fields')),
    sa.CheckConstraint("kind IN ('round_up', 'income_percent', 'scheduled')", name=op.f('ck_auto_save_rules_kind_allowed')),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_auto_save_rules_goal_id_goals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_save_rules'))
    )
    op.create_index('ix_auto_save_rules_due', 'auto_save_rules', ['next_run_on'], unique=False, postgresql_where=sa.text("kind = 'scheduled' AND active"))
    op.create_index(op.f('ix_auto_save_rules_goal_id'), 'auto_save_rules', ['goal_id'], unique=False)
    op.create_index('ix_auto_save_rules_user_id_kind', 'auto_save_rules', ['user_id', 'kind'], unique=False)
    op.create_table('goal_milestones',
    sa.Column('goal_id', sa.UUID(), nullable=False),
    sa.Column('percent', sa.SmallInteger(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('percent IN (25, 50, 75, 100)', name=op.f('ck_goal_milestones_percent_allowed')),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_goal_milestones_goal_id_goals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('goal_id', 'percent', name=op.f('pk_goal_milestones'))
    )
    op.create_index(op.f('ix_goal_milestones_user_id'), 'goal_milestones', ['user_id'], unique=False)
    op.create_table('contributions',
    sa.Column('goal_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('contributed_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('rule_id', sa.UUID(), nullable=True),
    sa.Column('source_ref', sa.String(length=100), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("kind IN ('contribution', 'withdrawal')", name=op.f('ck_contributions_kind_allowed')),
    sa.CheckConstraint("source IN ('manual', 'round_up', 'income_percent', 'scheduled', 'automation')", name=op.f('ck_contributions_source_allowed')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_contributions_amount_positive')),
    sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_contributions_goal_id_goals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['auto_save_rules.id'], name=op.f('fk_contributions_rule_id_auto_save_rules'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contributions')),
    sa.UniqueConstraint('rule_id', 'source_ref', name='uq_contributions_rule_id_source_ref')
    )
    op.create_index('ix_contributions_goal_id_contributed_on', 'contributions', ['goal_id', 'contributed_on'], unique=False)
    op.create_index('ix_contributions_user_id', 'contributions', ['user_id'], unique=False)
    op.create_index('uq_contributions_request', 'contributions', ['source_ref'], unique=True, postgresql_where=sa.text("source = 'automation'"))


def downgrade() -> None:
    op.drop_index('uq_contributions_request', table_name='contributions', postgresql_where=sa.text("source = 'automation'"))
    op.drop_index('ix_contributions_user_id', table_name='contributions')
    op.drop_index('ix_contributions_goal_id_contributed_on', table_name='contributions')
    op.drop_table('contributions')
    op.drop_index(op.f('ix_goal_milestones_user_id'), table_name='goal_milestones')
    op.drop_table('goal_milestones')
    op.drop_index('ix_auto_save_rules_user_id_kind', table_name='auto_save_rules')
    op.drop_index(op.f('ix_auto_save_rules_goal_id'), table_name='auto_save_rules')
    op.drop_index('ix_auto_save_rules_due', table_name='auto_save_rules', postgresql_where=sa.text("kind = 'scheduled' AND active"))
    op.drop_table('auto_save_rules')
    op.drop_index('ix_goals_user_id_created_at', table_name='goals')
    op.drop_table('goals')
    op.drop_index('ix_spending_facts_user_id_expense_date', table_name='spending_facts')
    op.drop_table('spending_facts')
