"""Bank connections (Plaid items, Belvo links), their accounts, imported transactions and webhook receipts

Revision ID: 0007_connections
Revises: 0004_postings_count
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_connections"
down_revision: str | None = "0004_postings_count"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_connections",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'active'"), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("provider IN ('plaid', 'belvo')", name=op.f("ck_bank_connections_provider_allowed")),
        sa.CheckConstraint(
            "status IN ('active', 'reauth_required', 'unlinked')", name=op.f("ck_bank_connections_status_allowed")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_connections")),
    )
    op.create_index("uq_bank_connections_external", "bank_connections", ["provider", "external_id"], unique=True)
    op.create_index("ix_bank_connections_user_id_created_at", "bank_connections", ["user_id", "created_at"])
    op.create_index(
        "ix_bank_connections_sync_requested",
        "bank_connections",
        ["sync_requested_at"],
        postgresql_where=sa.text("sync_requested_at IS NOT NULL"),
    )
    op.create_table(
        "connected_accounts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("external_account_id", sa.String(length=200), nullable=False),
        sa.Column("provider_balance", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("balance_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_connected_accounts_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["bank_connections.id"],
            name=op.f("fk_connected_accounts_connection_id_bank_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connected_accounts")),
    )
    op.create_index(
        "uq_connected_accounts_external", "connected_accounts", ["connection_id", "external_account_id"], unique=True
    )
    op.create_index("ix_connected_accounts_user_id", "connected_accounts", ["user_id"])
    op.create_table(
        "imported_transactions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=True),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(precision=19, scale=4), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_imported_transactions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["bank_connections.id"],
            name=op.f("fk_imported_transactions_connection_id_bank_connections"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_transactions")),
    )
    op.create_index(
        "uq_imported_transactions_external", "imported_transactions", ["source", "external_id"], unique=True
    )
    op.create_index("ix_imported_transactions_user_id", "imported_transactions", ["user_id"])
    op.create_table(
        "webhook_receipts",
        sa.Column("provider", sa.String(length=10), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("provider", "digest", name=op.f("pk_webhook_receipts")),
    )


def downgrade() -> None:
    op.drop_table("webhook_receipts")
    op.drop_index("ix_imported_transactions_user_id", table_name="imported_transactions")
    op.drop_index("uq_imported_transactions_external", table_name="imported_transactions")
    op.drop_table("imported_transactions")
    op.drop_index("ix_connected_accounts_user_id", table_name="connected_accounts")
    op.drop_index("uq_connected_accounts_external", table_name="connected_accounts")
    op.drop_table("connected_accounts")
    op.drop_index("ix_bank_connections_sync_requested", table_name="bank_connections")
    op.drop_index("ix_bank_connections_user_id_created_at", table_name="bank_connections")
    op.drop_index("uq_bank_connections_external", table_name="bank_connections")
    op.drop_table("bank_connections")
