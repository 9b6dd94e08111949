"""Loan payments and investment transactions booked on linked accounts: two more journal entry kinds

Revision ID: 0009_holdings
Revises: 0005_payments
Create Date: 2026-11-26

The CHECK constraint of allowed kinds is widened by adding to whatever it allows at the time (read from
the catalogue, as 0005 does), so a sibling branch that widens it too keeps its values.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_holdings"
down_revision: str | None = "0005_payments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("loan_payment", "investment")
NAME = "ck_journal_entries_kind_allowed"


def _allowed() -> list[str]:
    definition = op.get_bind().scalar(
        sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"), {"name": NAME}
    )
    inside = str(definition).split("ARRAY[", 1)[1].split("]", 1)[0]
    return [part.strip().split("'")[1] for part in inside.split(",")]


def _set_allowed(values: list[str]) -> None:
    op.drop_constraint(op.f(NAME), "journal_entries", type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(op.f(NAME), "journal_entries", f"kind IN ({listed})")


def upgrade() -> None:
    values = _allowed()
    _set_allowed([*values, *(k for k in KINDS if k not in values)])


def downgrade() -> None:
    # Their postings go with the entries (cascade); the balances they moved are the downgrader's to restore.
    op.execute(sa.text("DELETE FROM journal_entries WHERE kind IN ('loan_payment', 'investment')"))
    _set_allowed([v for v in _allowed() if v not in KINDS])
