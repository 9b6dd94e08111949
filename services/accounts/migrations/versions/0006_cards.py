"""Virtual cards on wallets (number and CVV encrypted at rest) and the authorisations their issuer asked for

Revision ID: 0006_cards
Revises: 0004_postings_count
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_cards"
down_revision: str | None = "0004_postings_count"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cards",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("issuer", sa.String(length=30), nullable=False),
        sa.Column("token", sa.String(length=100), nullable=False),
        sa.Column("pan", sa.Text(), nullable=False),
        sa.Column("cvv", sa.Text(), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("expiry_month", sa.SmallInteger(), nullable=False),
        sa.Column("expiry_year", sa.SmallInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), server_default=sa.text("'active'"), nullable=False),
        sa.Column("limit_per_transaction", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("limit_per_month", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active', 'frozen', 'closed')", name=op.f("ck_cards_status_allowed")),
        sa.CheckConstraint(
            "limit_per_transaction IS NULL OR limit_per_transaction > 0", name=op.f("ck_cards_limit_tx_positive")
        ),
        sa.CheckConstraint(
            "limit_per_month IS NULL OR limit_per_month > 0", name=op.f("ck_cards_limit_month_positive")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_cards_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
    )
    op.create_index("uq_cards_issuer_token", "cards", ["issuer", "token"], unique=True)
    op.create_index("ix_cards_user_id_account_id", "cards", ["user_id", "account_id", "created_at"])
    op.create_table(
        "card_authorisations",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("card_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("issuer", sa.String(length=30), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merchant", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("entry_id", sa.UUID(), nullable=True),
        sa.Column("expense_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_card_authorisations_card_id_cards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_card_authorisations_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_card_authorisations_entry_id_journal_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_authorisations")),
    )
    op.create_index("uq_card_authorisations_external", "card_authorisations", ["issuer", "external_id"], unique=True)
    op.create_index("ix_card_authorisations_card_id_created_at", "card_authorisations", ["card_id", "created_at"])
    op.create_index(
        "ix_card_authorisations_account_id_occurred_at", "card_authorisations", ["account_id", "occurred_at"]
    )
    op.create_index("ix_card_authorisations_user_id", "card_authorisations", ["user_id"])
    op.create_index("ix_card_authorisations_expense_id", "card_authorisations", ["expense_id"])


def downgrade() -> None:
    op.drop_table("card_authorisations")
    op.drop_table("cards")
