"""Expenses and income of other services booked on an account

Revision ID: 0003_linked_movements
Revises: 0002_ledger
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_linked_movements'
down_revision: str | None = '0002_ledger'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('linked_movements',
    sa.Column('source_ref', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=True),
    sa.Column('amount', sa.Numeric(precision=19, scale=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('deleted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_linked_movements_account_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('source_ref', name=op.f('pk_linked_movements'))
    )
    op.create_index('ix_linked_movements_user_id', 'linked_movements', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_linked_movements_user_id', table_name='linked_movements')
    op.drop_table('linked_movements')
