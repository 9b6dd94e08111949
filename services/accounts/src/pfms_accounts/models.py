"""Tables of the accounts service; the shared outbox and inbox come with the platform's Base.

Every row carries its owner's `user_id`. Money is NUMERIC(19,4). The ledger is double-entry:
`journal_entries` hold the movement, `postings` its legs (each leg signed, in its account's
currency); `accounts.balance` is the running sum of the account's postings, moved in the same
transaction as the postings it sums, under a row lock of the account.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Identity, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_accounts.card_models import Card, CardAuthorisation
from pfms_accounts.domain import AccountType, EntryKind
from pfms_accounts.models_payments import Payment
from pfms_platform.crypto import Encrypted
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.spaces import SpaceMembership, SpaceVersion

__all__ = [
    "Account",
    "BankConnection",
    "Base",
    "Card",
    "CardAuthorisation",
    "ConnectedAccount",
    "FxQuote",
    "Holder",
    "IdempotencyKey",
    "ImportedTransaction",
    "InboxEvent",
    "JournalEntry",
    "LinkedMovement",
    "OutboxEvent",
    "Payment",
    "Posting",
    "SpaceMembership",
    "SpaceVersion",
    "WebhookReceipt",
]


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class Account(IdMixin, TimestampMixin, Base):
    """A place money is (or is owed). `external` accounts are the user's counter-accounts, one per currency.

    A shared space's account has `space_id` (`user_id` stays who opened it); its ledger rows (entries,
    postings, the counter-accounts) are kept under the space's id as their owner — see `ledger.owner`."""

    __tablename__ = "accounts"
    __table_args__ = (
        one_of("type", AccountType),
        CheckConstraint(
            "overdraft_limit IS NULL OR (type = 'wallet' AND overdraft_limit >= 0)", name="overdraft_wallet"
        ),
        CheckConstraint("portfolio_id IS NULL OR type = 'investment'", name="portfolio_investment"),
        CheckConstraint("loan_id IS NULL OR type = 'loan'", name="loan_loan"),
        Index("ix_accounts_user_id_created_at", "user_id", "created_at"),
        Index(
            "ix_accounts_space_id_created_at",
            "space_id",
            "created_at",
            postgresql_where=text("space_id IS NOT NULL"),
        ),
        Index("uq_accounts_external", "user_id", "currency", unique=True, postgresql_where=text("type = 'external'")),
        Index("uq_accounts_clearing", "user_id", "currency", unique=True, postgresql_where=text("type = 'clearing'")),
    )

    user_id: Mapped[uuid.UUID]
    space_id: Mapped[uuid.UUID | None] = mapped_column(comment="The shared space it belongs to")
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    institution: Mapped[str | None] = mapped_column(String(200))
    opening_balance: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default=text("0"))
    balance: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default=text("0"))
    postings_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    """Kept with the balance, so a page of postings needs no count over all of them."""
    overdraft_limit: Mapped[Decimal | None]
    portfolio_id: Mapped[uuid.UUID | None]
    loan_id: Mapped[uuid.UUID | None]
    archived: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class JournalEntry(IdMixin, Base):
    """One balanced movement. `source_ref` (unique per user) makes an event-driven entry book once."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        one_of("kind", EntryKind),
        Index("uq_journal_entries_source", "user_id", "source_ref", unique=True),
        Index("ix_journal_entries_user_id_created_at", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(500))
    source_ref: Mapped[str | None] = mapped_column(String(100))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(24, 12))
    fee: Mapped[Decimal | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class Posting(Base):
    """One leg of an entry on one account; `balance_after` is the account's running balance after it."""

    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_postings_account_id_created_at", "account_id", "created_at", "seq"),
        Index("ix_postings_user_id", "user_id"),
        Index("ix_postings_entry_id", "entry_id"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal]
    balance_after: Mapped[Decimal]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class FxQuote(IdMixin, Base):
    """A rate and fee offered for an exchange, good until `expires_at`, executed at most once."""

    __tablename__ = "fx_quotes"
    __table_args__ = (Index("ix_fx_quotes_user_id", "user_id"),)

    user_id: Mapped[uuid.UUID]
    from_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    to_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    sell_amount: Mapped[Decimal]
    sell_currency: Mapped[str] = mapped_column(String(3))
    buy_amount: Mapped[Decimal]
    buy_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    fee: Mapped[Decimal]
    expires_at: Mapped[datetime]
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class IdempotencyKey(Base):
    """The first answer to a money-moving POST per (user, key); `fingerprint` is the hash of what was asked."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    expires_at: Mapped[datetime]


class Holder(Base):
    """What the service knows of a person beyond their accounts: the profile currency net worth is shown in."""

    __tablename__ = "holders"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))


class LinkedMovement(Base):
    """What the ledger booked for an expense or income of another service (`expense:<id>`, `income:<id>`).

    Each event brings the movement's new state; the difference to what was booked is booked (a changed
    amount, another account, a deletion), so a repeated event books nothing. A deleted movement stays as
    a tombstone, so a late event about it does not book it again.
    """

    __tablename__ = "linked_movements"
    __table_args__ = (Index("ix_linked_movements_user_id", "user_id"),)

    source_ref: Mapped[str] = mapped_column(String(100), primary_key=True)
    user_id: Mapped[uuid.UUID]
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    deleted: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class BankConnection(IdMixin, TimestampMixin, Base):
    """A link to a bank through a provider (a Plaid item, a Belvo link) and its health.

    `access_token` is the provider's credential for the link, encrypted at rest; `cursor` is where the
    incremental sync stands (Plaid's `/transactions/sync` cursor, Belvo's last imported day)."""

    __tablename__ = "bank_connections"
    __table_args__ = (
        CheckConstraint("provider IN ('plaid', 'belvo')", name="provider_allowed"),
        CheckConstraint("status IN ('active', 'reauth_required', 'unlinked')", name="status_allowed"),
        Index("uq_bank_connections_external", "provider", "external_id", unique=True),
        Index("ix_bank_connections_user_id_created_at", "user_id", "created_at"),
        Index(
            "ix_bank_connections_sync_requested",
            "sync_requested_at",
            postgresql_where=text("sync_requested_at IS NOT NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID]
    provider: Mapped[str] = mapped_column(String(10))
    external_id: Mapped[str] = mapped_column(String(200))
    institution: Mapped[str | None] = mapped_column(String(200))
    access_token: Mapped[str | None] = mapped_column(Encrypted())
    cursor: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default=text("'active'"))
    last_synced_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None]
    sync_requested_at: Mapped[datetime | None]
    """Set by a webhook (or the link): the background loop syncs the connection soon after."""


class ConnectedAccount(Base):
    """A provider's account behind a connection, and the PFMS account it is kept as.

    `provider_balance` is the provider's balance at the last sync (in the ledger's sign: what is owed on a
    card or loan is negative); its difference to the ledger is shown, never booked silently."""

    __tablename__ = "connected_accounts"
    __table_args__ = (
        Index("uq_connected_accounts_external", "connection_id", "external_account_id", unique=True),
        Index("ix_connected_accounts_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bank_connections.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    external_account_id: Mapped[str] = mapped_column(String(200))
    provider_balance: Mapped[Decimal | None]
    balance_at: Mapped[datetime | None]


class ImportedTransaction(Base):
    """A provider transaction handed on as `account.transaction_imported`: one row per (source, external id),
    so a transaction the provider sends again (a repeated sync, a modified transaction) is imported once."""

    __tablename__ = "imported_transactions"
    __table_args__ = (
        Index("uq_imported_transactions_external", "source", "external_id", unique=True),
        Index("ix_imported_transactions_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID]
    connection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bank_connections.id", ondelete="SET NULL"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(10))
    external_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal]
    """Signed as on the ledger: negative leaves the account."""
    occurred_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class WebhookReceipt(Base):
    """A provider webhook already taken (by provider and the SHA-256 of its body): a redelivery does nothing."""

    __tablename__ = "webhook_receipts"

    provider: Mapped[str] = mapped_column(String(10), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
