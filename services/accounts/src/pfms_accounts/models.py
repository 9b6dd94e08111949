"""Tables of the accounts service; the shared outbox and inbox come with the platform's Base.

Every row carries its owner's `user_id`. Money is NUMERIC(19,4). The ledger is double-entry:
`journal_entries` hold the movement, `postings` its legs (each leg signed, in its account's
currency); `accounts.balance` is the running sum of the account's postings, moved in the same
transaction as the postings it sums, under a row lock of the account.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_accounts.domain import AccountType, EntryKind
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = [
    "Account",
    "Base",
    "FxQuote",
    "Holder",
    "IdempotencyKey",
    "InboxEvent",
    "JournalEntry",
    "LinkedMovement",
    "OutboxEvent",
    "Posting",
]


def one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class Account(IdMixin, TimestampMixin, Base):
    """A place money is (or is owed). `external` accounts are the user's counter-accounts, one per currency."""

    __tablename__ = "accounts"
    __table_args__ = (
        one_of("type", AccountType),
        CheckConstraint(
            "overdraft_limit IS NULL OR (type = 'wallet' AND overdraft_limit >= 0)", name="overdraft_wallet"
        ),
        CheckConstraint("portfolio_id IS NULL OR type = 'investment'", name="portfolio_investment"),
        CheckConstraint("loan_id IS NULL OR type = 'loan'", name="loan_loan"),
        Index("ix_accounts_user_id_created_at", "user_id", "created_at"),
        Index("uq_accounts_external", "user_id", "currency", unique=True, postgresql_where=text("type = 'external'")),
    )

    user_id: Mapped[uuid.UUID]
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
