"""Contacts and their groups, loans with EMI schedules, payments, reminders, activities, templates, disputes

Revision ID: 0002_loans
Revises: 0001_messaging
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002_loans'
down_revision: str | None = '0001_messaging'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contact_groups',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('color', sa.String(length=7), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("color IS NULL OR color ~ '^#[0-9A-Fa-f]{6}$'", name=op.f('ck_contact_groups_color_hex')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_groups')),
    sa.UniqueConstraint('user_id', 'name', name='uq_contact_groups_user_id_name')
    )
    op.create_table('contacts',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('contact_type', sa.String(length=20), nullable=False),
    sa.Column('linked_user_id', sa.UUID(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('nickname', sa.String(length=100), nullable=True),
    sa.Column('relationship', sa.String(length=50), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('avatar_url', sa.Text(), nullable=True),
    sa.Column('is_favorite', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('is_blocked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(contact_type = 'app_user' AND linked_user_id IS NOT NULL) OR (contact_type = 'external' AND name IS NOT NULL)", name=op.f('ck_contacts_contact_type')),
    sa.CheckConstraint("contact_type IN ('app_user', 'external')", name=op.f('ck_contacts_contact_type_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('user_id', 'linked_user_id', name='uq_contacts_user_id_linked_user_id'),
    sa.UniqueConstraint('user_id', 'phone', name='uq_contacts_user_id_phone')
    )
    op.create_index('ix_contacts_user_id_created_at', 'contacts', ['user_id', 'created_at'], unique=False)
    op.create_table('loan_templates',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('template_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('default_amount', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('interest_rate', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('interest_type', sa.String(length=20), nullable=True),
    sa.Column('emi_frequency', sa.String(length=20), nullable=True),
    sa.Column('total_installments', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('usage_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("emi_frequency IS NULL OR emi_frequency IN ('weekly', 'biweekly', 'monthly', 'quarterly')", name=op.f('ck_loan_templates_emi_frequency_allowed')),
    sa.CheckConstraint("interest_type IS NULL OR interest_type IN ('none', 'simple', 'compound')", name=op.f('ck_loan_templates_interest_type_allowed')),
    sa.CheckConstraint("type IN ('borrowed', 'lent')", name=op.f('ck_loan_templates_type_allowed')),
    sa.CheckConstraint('default_amount IS NULL OR default_amount > 0', name=op.f('ck_loan_templates_default_amount')),
    sa.CheckConstraint('interest_rate IS NULL OR (interest_rate >= 0 AND interest_rate <= 100)', name=op.f('ck_loan_templates_interest_rate')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_templates')),
    sa.UniqueConstraint('user_id', 'template_name', name='uq_loan_templates_user_id_template_name')
    )
    op.create_table('contact_group_members',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('contact_id', sa.UUID(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_group_members_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['contact_groups.id'], name=op.f('fk_contact_group_members_group_id_contact_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_group_members')),
    sa.UniqueConstraint('group_id', 'contact_id', name='uq_contact_group_members_group_id_contact_id')
    )
    op.create_index(op.f('ix_contact_group_members_contact_id'), 'contact_group_members', ['contact_id'], unique=False)
    op.create_table('loans',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('contact_id', sa.UUID(), nullable=True),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('principal_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interest_rate', sa.Numeric(precision=7, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('interest_type', sa.String(length=20), server_default=sa.text("'none'"), nullable=False),
    sa.Column('interest_calculation', sa.String(length=20), server_default=sa.text("'annual'"), nullable=False),
    sa.Column('amortisation', sa.String(length=20), server_default=sa.text("'reducing'"), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('actual_end_date', sa.Date(), nullable=True),
    sa.Column('emi_enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('emi_frequency', sa.String(length=20), nullable=True),
    sa.Column('emi_amount', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('emi_day', sa.Integer(), nullable=True),
    sa.Column('total_installments', sa.Integer(), nullable=True),
    sa.Column('prepayment_mode', sa.String(length=20), server_default=sa.text("'reduce_term'"), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'active'"), nullable=False),
    sa.Column('remaining_balance', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('total_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('total_interest_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('total_late_fee_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('interest_paid_to', sa.Date(), nullable=False, comment='Loans without a schedule: interest is settled up to this day'),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('priority', sa.String(length=20), server_default=sa.text("'medium'"), nullable=False),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('has_written_agreement', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('agreement_url', sa.Text(), nullable=True),
    sa.Column('witness_info', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('reminder_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('reminder_days_before', sa.Integer(), server_default=sa.text('3'), nullable=False),
    sa.Column('auto_deduct', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('late_fee_enabled', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('late_fee_amount', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('late_fee_type', sa.String(length=20), nullable=True),
    sa.Column('grace_period_days', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=True, comment='Last day the daily job went over this loan'),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("amortisation IN ('reducing', 'flat')", name=op.f('ck_loans_amortisation_allowed')),
    sa.CheckConstraint("emi_frequency IS NULL OR emi_frequency IN ('weekly', 'biweekly', 'monthly', 'quarterly')", name=op.f('ck_loans_emi_frequency_allowed')),
    sa.CheckConstraint("interest_calculation IN ('annual', 'monthly')", name=op.f('ck_loans_interest_calculation_allowed')),
    sa.CheckConstraint("interest_type <> 'none' OR interest_rate = 0", name=op.f('ck_loans_rate_needs_interest_type')),
    sa.CheckConstraint("interest_type IN ('none', 'simple', 'compound')", name=op.f('ck_loans_interest_type_allowed')),
    sa.CheckConstraint("late_fee_type IS NULL OR late_fee_type IN ('fixed', 'percent')", name=op.f('ck_loans_late_fee_type_allowed')),
    sa.CheckConstraint("prepayment_mode IN ('reduce_term', 'reduce_emi')", name=op.f('ck_loans_prepayment_mode_allowed')),
    sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name=op.f('ck_loans_priority_allowed')),
    sa.CheckConstraint("status IN ('active', 'paid', 'overdue', 'cancelled', 'defaulted')", name=op.f('ck_loans_status_allowed')),
    sa.CheckConstraint("type IN ('borrowed', 'lent')", name=op.f('ck_loans_type_allowed')),
    sa.CheckConstraint('NOT emi_enabled OR (emi_frequency IS NOT NULL AND total_installments >= 1)', name=op.f('ck_loans_emi_complete')),
    sa.CheckConstraint('NOT late_fee_enabled OR (late_fee_amount > 0 AND late_fee_type IS NOT NULL)', name=op.f('ck_loans_late_fee_complete')),
    sa.CheckConstraint('emi_day IS NULL OR emi_day BETWEEN 1 AND 31', name=op.f('ck_loans_emi_day_range')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_loans_end_after_start')),
    sa.CheckConstraint('grace_period_days BETWEEN 0 AND 365', name=op.f('ck_loans_grace_range')),
    sa.CheckConstraint('interest_rate >= 0 AND interest_rate <= 100', name=op.f('ck_loans_interest_rate')),
    sa.CheckConstraint('principal_amount > 0', name=op.f('ck_loans_loan_amounts')),
    sa.CheckConstraint('remaining_balance >= 0 AND remaining_balance <= principal_amount', name=op.f('ck_loans_balance_range')),
    sa.CheckConstraint('reminder_days_before BETWEEN 0 AND 60', name=op.f('ck_loans_reminder_days_range')),
    sa.CheckConstraint('total_paid >= 0 AND total_interest_paid >= 0 AND total_late_fee_paid >= 0', name=op.f('ck_loans_totals')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_loans_contact_id_contacts'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans'))
    )
    op.create_index('ix_loans_contact_id', 'loans', ['contact_id'], unique=False)
    op.create_index('ix_loans_open_checked_on', 'loans', ['checked_on'], unique=False, postgresql_where=sa.text("status IN ('active', 'overdue')"))
    op.create_index('ix_loans_user_id_created_at', 'loans', ['user_id', 'created_at'], unique=False)
    op.create_table('emi_schedules',
    sa.Column('loan_id', sa.UUID(), nullable=False),
    sa.Column('installment_number', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('principal_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('interest_amount', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('late_fee', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'pending'"), nullable=False),
    sa.Column('paid_date', sa.Date(), nullable=True),
    sa.Column('paid_amount', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('principal_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('interest_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('late_fee_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('outstanding_amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('partial_payments_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('days_overdue', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('overdue_since', sa.Date(), nullable=True),
    sa.Column('late_fee_applied', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('due_announced', sa.Boolean(), server_default=sa.text('false'), nullable=False, comment='loan.instalment_due published for this instalment'),
    sa.Column('reminder_sent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'partial', 'overdue', 'paid', 'skipped', 'waived')", name=op.f('ck_emi_schedules_status_allowed')),
    sa.CheckConstraint('days_overdue >= 0', name=op.f('ck_emi_schedules_days_overdue')),
    sa.CheckConstraint('paid_amount = principal_paid + interest_paid + late_fee_paid', name=op.f('ck_emi_schedules_paid_is_sum')),
    sa.CheckConstraint('principal_amount >= 0 AND interest_amount >= 0 AND late_fee >= 0', name=op.f('ck_emi_schedules_parts')),
    sa.CheckConstraint('principal_paid BETWEEN 0 AND principal_amount AND interest_paid BETWEEN 0 AND interest_amount AND late_fee_paid BETWEEN 0 AND late_fee', name=op.f('ck_emi_schedules_paid_within_parts')),
    sa.CheckConstraint('total_amount = principal_amount + interest_amount', name=op.f('ck_emi_schedules_total_is_sum')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_emi_schedules_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emi_schedules')),
    sa.UniqueConstraint('loan_id', 'installment_number', name='uq_emi_schedules_loan_id_installment_number')
    )
    op.create_index('ix_emi_schedules_open_due', 'emi_schedules', ['due_date'], unique=False, postgresql_where=sa.text("status IN ('pending', 'partial', 'overdue')"))
    op.create_table('loan_disputes',
    sa.Column('loan_id', sa.UUID(), nullable=False),
    sa.Column('raised_by', sa.UUID(), nullable=False),
    sa.Column('dispute_type', sa.String(length=50), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('expected_resolution', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'open'"), nullable=False),
    sa.Column('priority', sa.String(length=20), server_default=sa.text("'medium'"), nullable=False),
    sa.Column('responses', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.UUID(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'urgent')", name=op.f('ck_loan_disputes_priority_allowed')),
    sa.CheckConstraint("status <> 'resolved' OR (resolution IS NOT NULL AND resolved_at IS NOT NULL)", name=op.f('ck_loan_disputes_resolved')),
    sa.CheckConstraint("status IN ('open', 'responded', 'resolved')", name=op.f('ck_loan_disputes_status_allowed')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_disputes_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_disputes'))
    )
    op.create_index('ix_loan_disputes_loan_id_created_at', 'loan_disputes', ['loan_id', 'created_at'], unique=False)
    op.create_table('loan_payments',
    sa.Column('loan_id', sa.UUID(), nullable=False),
    sa.Column('emi_schedule_id', sa.UUID(), nullable=True),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payment_date', sa.Date(), nullable=False),
    sa.Column('principal_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('interest_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('late_fee_paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('remaining_balance', sa.Numeric(precision=19, scale=4), nullable=False, comment='Principal owed after this payment'),
    sa.Column('payment_method', sa.String(length=50), nullable=True),
    sa.Column('payment_reference', sa.String(length=100), nullable=True),
    sa.Column('payment_type', sa.String(length=20), server_default=sa.text("'regular'"), nullable=False),
    sa.Column('status', sa.String(length=20), server_default=sa.text("'completed'"), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('receipt_url', sa.Text(), nullable=True),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("payment_type IN ('regular', 'prepayment')", name=op.f('ck_loan_payments_payment_type_allowed')),
    sa.CheckConstraint('amount = principal_paid + interest_paid + late_fee_paid', name=op.f('ck_loan_payments_parts_sum')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_loan_payments_payment_amount')),
    sa.ForeignKeyConstraint(['emi_schedule_id'], ['emi_schedules.id'], name=op.f('fk_loan_payments_emi_schedule_id_emi_schedules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_payments_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_payments'))
    )
    op.create_index('ix_loan_payments_loan_id_payment_date', 'loan_payments', ['loan_id', 'payment_date'], unique=False)
    op.create_index('ix_loan_payments_user_id_payment_date', 'loan_payments', ['user_id', sa.literal_column('payment_date DESC')], unique=False)
    op.create_table('payment_reminders',
    sa.Column('loan_id', sa.UUID(), nullable=False),
    sa.Column('emi_schedule_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('reminder_type', sa.String(length=20), nullable=False),
    sa.Column('reminder_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('notification_sent', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('notification_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notification_channels', sa.ARRAY(sa.String(length=20)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('is_acknowledged', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_snoozed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('snooze_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint("reminder_type IN ('upcoming', 'overdue')", name=op.f('ck_payment_reminders_reminder_type_allowed')),
    sa.ForeignKeyConstraint(['emi_schedule_id'], ['emi_schedules.id'], name=op.f('fk_payment_reminders_emi_schedule_id_emi_schedules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_payment_reminders_loan_id_loans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_reminders')),
    sa.UniqueConstraint('emi_schedule_id', 'reminder_type', name='uq_payment_reminders_emi_schedule_id_reminder_type')
    )
    op.create_index(op.f('ix_payment_reminders_loan_id'), 'payment_reminders', ['loan_id'], unique=False)
    op.create_index('ix_payment_reminders_snoozed', 'payment_reminders', ['snooze_until'], unique=False, postgresql_where=sa.text('is_snoozed AND NOT is_acknowledged'))
    op.create_index('ix_payment_reminders_user_id_reminder_date', 'payment_reminders', ['user_id', 'reminder_date'], unique=False)
    op.create_table('loan_activities',
    sa.Column('loan_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('activity_type', sa.String(length=50), nullable=False),
    sa.Column('activity_description', sa.Text(), nullable=False),
    sa.Column('payment_id', sa.UUID(), nullable=True),
    sa.Column('emi_schedule_id', sa.UUID(), nullable=True),
    sa.Column('old_value', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('new_value', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('metadata', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['emi_schedule_id'], ['emi_schedules.id'], name=op.f('fk_loan_activities_emi_schedule_id_emi_schedules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_activities_loan_id_loans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['payment_id'], ['loan_payments.id'], name=op.f('fk_loan_activities_payment_id_loan_payments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_activities'))
    )
    op.create_index('ix_loan_activities_loan_id_created_at', 'loan_activities', ['loan_id', sa.literal_column('created_at DESC')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_loan_activities_loan_id_created_at', table_name='loan_activities')
    op.drop_table('loan_activities')
    op.drop_index('ix_payment_reminders_user_id_reminder_date', table_name='payment_reminders')
    op.drop_index('ix_payment_reminders_snoozed', table_name='payment_reminders', postgresql_where=sa.text('is_snoozed AND NOT is_acknowledged'))
    op.drop_index(op.f('ix_payment_reminders_loan_id'), table_name='payment_reminders')
    op.drop_table('payment_reminders')
    op.drop_index('ix_loan_payments_user_id_payment_date', table_name='loan_payments')
    op.drop_index('ix_loan_payments_loan_id_payment_date', table_name='loan_payments')
    op.drop_table('loan_payments')
    op.drop_index('ix_loan_disputes_loan_id_created_at', table_name='loan_disputes')
    op.drop_table('loan_disputes')
    op.drop_index('ix_emi_schedules_open_due', table_name='emi_schedules', postgresql_where=sa.text("status IN ('pending', 'partial', 'overdue')"))
    op.drop_table('emi_schedules')
    op.drop_index('ix_loans_user_id_created_at', table_name='loans')
    op.drop_index('ix_loans_open_checked_on', table_name='loans', postgresql_where=sa.text("status IN ('active', 'overdue')"))
    op.drop_index('ix_loans_contact_id', table_name='loans')
    op.drop_table('loans')
    op.drop_index(op.f('ix_contact_group_members_contact_id'), table_name='contact_group_members')
    op.drop_table('contact_group_members')
    op.drop_table('loan_templates')
    op.drop_index('ix_contacts_user_id_created_at', table_name='contacts')
    op.drop_table('contacts')
    op.drop_table('contact_groups')
