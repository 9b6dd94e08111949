"""Each account keeps the count of its postings, so a page of them needs no count over all of them

Revision ID: 0004_postings_count
Revises: 0003_linked_movements
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_postings_count"
down_revision: str | None = "0003_linked_movements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("postings_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
    op.execute(
        "UPDATE accounts a SET postings_count = c.n "
        "FROM (SELECT account_id, count(*) AS n FROM postings GROUP BY account_id) c WHERE c.account_id = a.id"
    )


def downgrade() -> None:
    op.drop_column("accounts", "postings_count")
