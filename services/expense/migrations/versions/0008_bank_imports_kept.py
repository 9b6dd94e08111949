"""A taken import outlives its expense (deleted by the person or because the bank dropped it), so a
redelivered import still creates nothing: the link is set to null instead of cascading.

Revision ID: 0008_bank_imports_kept
Revises: 0007_bank_imports
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_bank_imports_kept"
down_revision: str | None = "0007_bank_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "fk_expense_bank_imports_expense_id_expenses"


def _link(ondelete: str) -> None:
    op.drop_constraint(NAME, "expense_bank_imports", type_="foreignkey")
    op.create_foreign_key(NAME, "expense_bank_imports", "expenses", ["expense_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _link("SET NULL")


def downgrade() -> None:
    op.execute("DELETE FROM expense_bank_imports WHERE expense_id IS NULL")
    _link("CASCADE")
