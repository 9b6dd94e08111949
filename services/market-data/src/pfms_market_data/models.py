"""Tables of the market-data service; the shared outbox and inbox come with the platform's Base.

Prices use NUMERIC(28,10), not the fleet's money type: an FX rate such as JPY→USD 0.0066 or a
small coin's price needs more than four decimals.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = ["AssetPrice", "Base", "InboxEvent", "OutboxEvent", "RefreshItem", "TrackedSymbol"]

PRICE = Numeric(28, 10, asdecimal=True)


class AssetPrice(IdMixin, Base):
    """One close per symbol and day (today's row holds the latest quote until the day ends)."""

    __tablename__ = "asset_prices"
    __table_args__ = (UniqueConstraint("symbol", "asset_class", "day", name="uq_asset_prices_symbol_class_day"),)

    symbol: Mapped[str] = mapped_column(String(24))
    asset_class: Mapped[str] = mapped_column(String(8))
    day: Mapped[date] = mapped_column(Date)
    close: Mapped[Decimal] = mapped_column(PRICE)
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, server_default=text("now()"))


class TrackedSymbol(IdMixin, Base):
    """Who holds or watches what (from investment.symbols_changed): the scheduler refreshes these."""

    __tablename__ = "tracked_symbols"
    __table_args__ = (
        UniqueConstraint("user_id", "symbol", "asset_class", name="uq_tracked_symbols_user_symbol_class"),
        Index("ix_tracked_symbols_symbol_class", "symbol", "asset_class"),
    )

    user_id: Mapped[uuid.UUID]
    symbol: Mapped[str] = mapped_column(String(24))
    asset_class: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class RefreshItem(Base):
    """One row per symbol somebody tracks: when it is next due and the last price published for it."""

    __tablename__ = "refresh_queue"

    symbol: Mapped[str] = mapped_column(String(24), primary_key=True)
    asset_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"), index=True)
    last_price: Mapped[Decimal | None] = mapped_column(PRICE, nullable=True)
    last_as_of: Mapped[datetime | None] = mapped_column(nullable=True)
