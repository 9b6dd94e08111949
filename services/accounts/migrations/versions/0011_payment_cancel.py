"""P2P payments: a payer may cancel a sent payment (a payee their request) before it is accepted — the
`cancelled` status

Revision ID: 0011_payment_cancel
Revises: 0010_merge_branches
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_payment_cancel"
down_revision: str | None = "0010_merge_branches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("requested", "sent", "accepted", "settled", "declined", "failed", "refunded", "expired")
NAME = "ck_payments_status_allowed"


def _allow(values: Sequence[str]) -> None:
    op.drop_constraint(op.f(NAME), "payments", type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(op.f(NAME), "payments", f"status IN ({listed})")


def upgrade() -> None:
    _allow([*BEFORE, "cancelled"])


def downgrade() -> None:
    op.execute("UPDATE payments SET status = 'declined' WHERE status = 'cancelled'")  # the nearest older status
    _allow(BEFORE)
