"""A taken import outlives its income (deleted by the person or because the bank dropped it), so a
redelivered import still records nothing: the link is set to null instead of cascading.

Revision ID: 0007_bank_imports_kept
Revises: 0006_merge_spaces_bank_imports
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_bank_imports_kept"
down_revision: str | None = "0006_merge_spaces_bank_imports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "fk_income_bank_imports_income_id_income_transactions"


def _link(ondelete: str) -> None:
    op.drop_constraint(NAME, "income_bank_imports", type_="foreignkey")
    op.create_foreign_key(
        NAME, "income_bank_imports", "income_transactions", ["income_id"], ["id"], ondelete=ondelete
    )


def upgrade() -> None:
    _link("SET NULL")


def downgrade() -> None:
    op.execute("DELETE FROM income_bank_imports WHERE income_id IS NULL")
    _link("CASCADE")
