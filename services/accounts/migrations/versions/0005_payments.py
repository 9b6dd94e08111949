"""P2P payments: the payments table, clearing accounts (money in flight) and payment journal entries

Revision ID: 0005_payments
Revises: 0004_postings_count
Create Date: 2026-11-26

The two CHECK constraints of allowed values are widened by adding to whatever they allow at the time
(read from the catalogue), so a sibling branch that widens them too keeps its values.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_payments"
down_revision: str | None = "0004_postings_count"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDENED = (("accounts", "type", "clearing"), ("journal_entries", "kind", "payment"))


def _allowed(table: str, column: str) -> list[str]:
    definition = op.get_bind().scalar(
        sa.text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
        {"name": f"ck_{table}_{column}_allowed"},
    )
    inside = str(definition).split("ARRAY[", 1)[1].split("]", 1)[0]
    return [part.strip().split("'")[1] for part in inside.split(",")]


def _set_allowed(table: str, column: str, values: list[str]) -> None:
    name = f"ck_{table}_{column}_allowed"
    op.drop_constraint(op.f(name), table, type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(op.f(name), table, f"{column} IN ({listed})")


def upgrade() -> None:
    for table, column, value in WIDENED:
        values = _allowed(table, column)
        if value not in values:
            _set_allowed(table, column, [*values, value])
    op.create_index(
        "uq_accounts_clearing",
        "accounts",
        ["user_id", "currency"],
        unique=True,
        postgresql_where=sa.text("type = 'clearing'"),
    )
    op.create_table(
        "payments",
        sa.Column("payer_id", sa.UUID(), nullable=False),
        sa.Column("payee_id", sa.UUID(), nullable=False),
        sa.Column("initiated_by", sa.String(length=5), nullable=False),
        sa.Column("payer_account_id", sa.UUID(), nullable=True),
        sa.Column("payee_account_id", sa.UUID(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("hold_entry_id", sa.UUID(), nullable=True),
        sa.Column("settle_entry_id", sa.UUID(), nullable=True),
        sa.Column("refund_entry_id", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'sent', 'accepted', 'settled', 'declined', 'failed', 'refunded', 'expired')",
            name=op.f("ck_payments_status_allowed"),
        ),
        sa.CheckConstraint("initiated_by IN ('payer', 'payee')", name=op.f("ck_payments_initiated_by_allowed")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("payer_id <> payee_id", name=op.f("ck_payments_two_people")),
        sa.ForeignKeyConstraint(
            ["payer_account_id"],
            ["accounts.id"],
            name=op.f("fk_payments_payer_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payee_account_id"],
            ["accounts.id"],
            name=op.f("fk_payments_payee_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_payer_id_created_at", "payments", ["payer_id", "created_at"])
    op.create_index("ix_payments_payee_id_created_at", "payments", ["payee_id", "created_at"])
    op.create_index(
        "ix_payments_open_expires_at",
        "payments",
        ["expires_at"],
        postgresql_where=sa.text("status IN ('requested', 'sent')"),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_index("uq_accounts_clearing", table_name="accounts", postgresql_where=sa.text("type = 'clearing'"))
    op.execute("DELETE FROM journal_entries WHERE kind = 'payment'")  # their postings go with them
    op.execute("DELETE FROM accounts WHERE type = 'clearing'")
    for table, column, value in WIDENED:
        _set_allowed(table, column, [v for v in _allowed(table, column) if v != value])
