"""Join the two branches begun side by side: shared spaces (0005_spaces) and bank imports (0005_bank_imports)

Neither touches the other's tables, so the merge has nothing to do but make one head again.

Revision ID: 0006_merge_spaces_bank_imports
Revises: 0005_spaces, 0005_bank_imports
Create Date: 2026-11-26
"""

from collections.abc import Sequence

revision: str = "0006_merge_spaces_bank_imports"
down_revision: tuple[str, str] = ("0005_spaces", "0005_bank_imports")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
