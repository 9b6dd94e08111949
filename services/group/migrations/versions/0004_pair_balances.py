"""Running net per pair of members (group_pair_balances), filled from the per-expense debts and
confirmed settlements already written, so pairwise debts page through an index.

Revision ID: 0004_pair_balances
Revises: 0003_member_balances
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004_pair_balances'
down_revision: str | None = '0003_member_balances'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BACKFILL = """
INSERT INTO group_pair_balances (group_id, low_id, high_id, net)
SELECT group_id, least(d, c), greatest(d, c), sum(CASE WHEN d < c THEN v ELSE -v END)
FROM (
    SELECT group_id, debtor_id AS d, creditor_id AS c, amount AS v FROM expense_debts
    UNION ALL SELECT group_id, to_user_id, from_user_id, amount FROM settlements WHERE status = 'completed'
) AS edges
WHERE d <> c
GROUP BY group_id, least(d, c), greatest(d, c)
"""


def upgrade() -> None:
    op.create_table('group_pair_balances',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('low_id', sa.UUID(), nullable=False),
    sa.Column('high_id', sa.UUID(), nullable=False),
    sa.Column('net', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('low_id < high_id', name=op.f('ck_group_pair_balances_ordered_pair')),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_pair_balances_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'low_id', 'high_id', name=op.f('pk_group_pair_balances'))
    )
    op.create_index('ix_group_pair_balances_amount', 'group_pair_balances', ['group_id', sa.text('abs(net) DESC')], unique=False, postgresql_where=sa.text('net <> 0'))
    op.create_index('ix_group_pair_balances_high', 'group_pair_balances', ['group_id', 'high_id'], unique=False)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index('ix_group_pair_balances_high', table_name='group_pair_balances')
    op.drop_index('ix_group_pair_balances_amount', table_name='group_pair_balances', postgresql_where=sa.text('net <> 0'))
    op.drop_table('group_pair_balances')
