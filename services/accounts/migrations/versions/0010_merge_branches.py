"""Join the branches begun side by side this round: cards (0006_cards), bank connections and spaces
(0007_connections → 0008_spaces), and payments and holdings (0005_payments → 0009_holdings)

Only payments and holdings change the account-type and entry-kind checks, each by adding to whatever
they allow when it runs, so the order Alembic applies the branches in does not matter; the merge only
makes one head again.

Revision ID: 0010_merge_branches
Revises: 0006_cards, 0008_spaces, 0009_holdings
Create Date: 2026-11-26
"""

from collections.abc import Sequence

revision: str = "0010_merge_branches"
down_revision: tuple[str, str, str] = ("0006_cards", "0008_spaces", "0009_holdings")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
