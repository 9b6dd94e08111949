"""Tables of virtual cards: the cards on wallets and the authorisations their issuer asked for.

The card number and CVV are encrypted at rest (`pfms_platform.crypto.Encrypted`, AES-256-GCM under the
service's field keys); only the last four digits are kept in the clear, for display.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from pfms_accounts.cards import CardStatus
from pfms_platform.crypto import Encrypted
from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow


class Card(IdMixin, TimestampMixin, Base):
    """A virtual card spending from a wallet; `token` is the issuer's id of it (what its webhooks name)."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s.value) for s in CardStatus)})", name="status_allowed"),
        CheckConstraint("limit_per_transaction IS NULL OR limit_per_transaction > 0", name="limit_tx_positive"),
        CheckConstraint("limit_per_month IS NULL OR limit_per_month > 0", name="limit_month_positive"),
        Index("uq_cards_issuer_token", "issuer", "token", unique=True),
        Index("ix_cards_user_id_account_id", "user_id", "account_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID]
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(30))
    token: Mapped[str] = mapped_column(String(100))
    pan: Mapped[str] = mapped_column(Encrypted())
    cvv: Mapped[str] = mapped_column(Encrypted())
    last4: Mapped[str] = mapped_column(String(4))
    expiry_month: Mapped[int] = mapped_column(SmallInteger)
    expiry_year: Mapped[int] = mapped_column(SmallInteger)
    currency: Mapped[str] = mapped_column(String(3))
    label: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default=CardStatus.ACTIVE.value, server_default=text("'active'"))
    limit_per_transaction: Mapped[Decimal | None]
    limit_per_month: Mapped[Decimal | None]


class CardAuthorisation(IdMixin, Base):
    """One authorisation webhook and its answer; unique per (issuer, external_id), so a redelivery is
    answered the same and booked once. `id` is the transaction id published to the expense service;
    `expense_id` is the expense recorded from it, once its `expense.created` came back."""

    __tablename__ = "card_authorisations"
    __table_args__ = (
        Index("uq_card_authorisations_external", "issuer", "external_id", unique=True),
        Index("ix_card_authorisations_card_id_created_at", "card_id", "created_at"),
        Index("ix_card_authorisations_account_id_occurred_at", "account_id", "occurred_at"),
        Index("ix_card_authorisations_user_id", "user_id"),
        Index("ix_card_authorisations_expense_id", "expense_id"),
    )

    user_id: Mapped[uuid.UUID]
    card_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    merchant: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500))
    occurred_at: Mapped[datetime]
    approved: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(40))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="SET NULL"))
    expense_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
