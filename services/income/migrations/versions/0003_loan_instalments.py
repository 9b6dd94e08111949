"""Loan instalments join the projection: two more kinds of scheduled flow, and the loan they belong to.

Revision ID: 0003_loan_instalments
Revises: 0002_income_and_projection
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_loan_instalments"
down_revision: str | None = "0002_income_and_projection"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("ck_scheduled_outflows_kind_allowed", "scheduled_outflows", type_="check")
    op.create_check_constraint(
        "ck_scheduled_outflows_kind_allowed",
        "scheduled_outflows",
        "kind IN ('recurring_expense', 'loan_instalment', 'loan_repayment')",
    )
    op.add_column(
        "scheduled_outflows",
        sa.Column("loan_id", sa.Uuid(), nullable=True, comment="The loan an instalment belongs to"),
    )
    op.create_index(
        "ix_scheduled_outflows_loan",
        "scheduled_outflows",
        ["loan_id", "next_due_date"],
        postgresql_where=sa.text("loan_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_outflows_loan", table_name="scheduled_outflows")
    op.drop_column("scheduled_outflows", "loan_id")
    op.execute("DELETE FROM scheduled_outflows WHERE kind <> 'recurring_expense'")
    op.drop_constraint("ck_scheduled_outflows_kind_allowed", "scheduled_outflows", type_="check")
    op.create_check_constraint(
        "ck_scheduled_outflows_kind_allowed", "scheduled_outflows", "kind IN ('recurring_expense')"
    )
