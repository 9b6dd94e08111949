"""Running totals per member (group_balances), filled from the ledger already written.

Revision ID: 0003_member_balances
Revises: 0002_groups
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_member_balances'
down_revision: str | None = '0002_groups'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BACKFILL = """
INSERT INTO group_balances (group_id, user_id, paid, share, settled_out, settled_in)
SELECT group_id, user_id, sum(paid), sum(share), sum(settled_out), sum(settled_in)
FROM (
    SELECT group_id, user_id, paid_amount AS paid, 0 AS share, 0 AS settled_out, 0 AS settled_in FROM expense_payers
    UNION ALL SELECT group_id, user_id, 0, share_amount, 0, 0 FROM expense_splits
    UNION ALL SELECT group_id, from_user_id, 0, 0, amount, 0 FROM settlements WHERE status = 'completed'
    UNION ALL SELECT group_id, to_user_id, 0, 0, 0, amount FROM settlements WHERE status = 'completed'
) AS ledger
GROUP BY group_id, user_id
"""


def upgrade() -> None:
    op.create_table('group_balances',
    sa.Column('group_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('paid', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('share', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('settled_out', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.Column('settled_in', sa.Numeric(precision=19, scale=4), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['finance_groups.id'], name=op.f('fk_group_balances_group_id_finance_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_balances'))
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table('group_balances')
