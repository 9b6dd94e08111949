"""Outbox and inbox: the service's side of the event bus.

Revision ID: 0001_messaging
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from pfms_platform.migration_ops import create_messaging_tables, drop_messaging_tables

revision: str = "0001_messaging"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()


def downgrade() -> None:
    drop_messaging_tables()
