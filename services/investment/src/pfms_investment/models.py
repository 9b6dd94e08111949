"""Tables of the investment service; the shared outbox and inbox come with the platform's Base.

Transactions are the record; `asset_states` holds what each asset's history adds up to (lots, totals,
per-day records), maintained in the same transaction as every write and rebuilt from the history
when a write lands before the asset's last day, so a backdated or deleted transaction can never
leave a stale average cost behind.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from pfms_platform.db import Base, IdMixin, TimestampMixin, utcnow
from pfms_platform.events.tables import InboxEvent, OutboxEvent

QUANTITY = Numeric(20, 8, asdecimal=True)
PRICE = Numeric(24, 8, asdecimal=True)
RATE = Numeric(24, 10, asdecimal=True)

__all__ = [
    "Asset",
    "AssetStateRow",
    "Base",
    "CachedFxRate",
    "DailyPrice",
    "InboxEvent",
    "InvestmentTransaction",
    "ManualPrice",
    "OutboxEvent",
    "Portfolio",
    "PortfolioSnapshot",
    "PriceAlert",
    "PriceSeries",
    "WatchlistItem",
]


class Portfolio(IdMixin, TimestampMixin, Base):
    __tablename__ = "portfolios"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_portfolios_user_name"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    base_currency: Mapped[str] = mapped_column(String(3))
    cost_method: Mapped[str] = mapped_column(String(10), server_default="fifo")
    benchmark_symbol: Mapped[str | None] = mapped_column(String(20))
    benchmark_asset_class: Mapped[str | None] = mapped_column(String(10))


class Asset(IdMixin, TimestampMixin, Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("portfolio_id", "symbol", name="uq_assets_portfolio_symbol"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    asset_type: Mapped[str] = mapped_column(String(20))
    symbol: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    sector: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    manual_price: Mapped[Decimal | None] = mapped_column(PRICE)


class InvestmentTransaction(Base):
    __tablename__ = "investment_transactions"
    __table_args__ = (Index("ix_investment_transactions_portfolio_order", "portfolio_id", "trade_date", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    transaction_type: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, server_default="0")
    price: Mapped[Decimal] = mapped_column(PRICE, server_default="0")
    amount: Mapped[Decimal] = mapped_column(server_default="0")
    fees: Mapped[Decimal] = mapped_column(server_default="0")
    tax: Mapped[Decimal] = mapped_column(server_default="0")
    trade_date: Mapped[date]
    lots: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    notes: Mapped[str | None] = mapped_column(Text)
    gain_revision: Mapped[int] = mapped_column(Integer, server_default="0")
    """For a sell: how many times its realized gains were re-issued (`investment.realized_gain_revised`)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class AssetStateRow(Base):
    """An asset's derived state under its portfolio's cost method (`state.AssetState`).

    `detail` is the exact state (JSON, Decimal strings) a later transaction continues from; the other
    columns are read by analytics without parsing it: totals in the asset's currency, the latest trade
    price, the amounts to convert at each day's FX rate (`money_*`, exact, by day ordinal; read for assets
    not in the base currency), and the per-day series the value walk needs for TWR and XIRR, packed as little-endian
    arrays (`days` int32 ordinals; `quantities`, `prices`, `flows` float64) so a read costs no object
    per value.
    """

    __tablename__ = "asset_states"

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    cost_method: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    cost: Mapped[Decimal]
    realized: Mapped[Decimal]
    cost_in: Mapped[Decimal]
    last_trade_day: Mapped[date | None]
    last_trade_price: Mapped[Decimal | None] = mapped_column(PRICE)
    money_days: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    money_realized: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric))
    money_cost_in: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric))
    money_open_cost: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric))
    days: Mapped[bytes] = mapped_column(LargeBinary)
    quantities: Mapped[bytes] = mapped_column(LargeBinary)
    prices: Mapped[bytes] = mapped_column(LargeBinary)
    flows: Mapped[bytes] = mapped_column(LargeBinary)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class DailyPrice(Base):
    """Latest price per symbol and day: the read model fed by `price.updated` and quote look-ups."""

    __tablename__ = "daily_prices"

    symbol: Mapped[str] = mapped_column(String(20), primary_key=True)
    asset_class: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    price: Mapped[Decimal] = mapped_column(PRICE)
    currency: Mapped[str] = mapped_column(String(3))
    as_of: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(50))


class PriceSeries(Base):
    """Each symbol's `daily_prices` packed for analytics, one row per symbol: day ordinals (big-endian int32)
    and prices (big-endian float64, for the value walk, which feeds only ratios), plus the latest price
    exactly. Rebuilt from `daily_prices` in the transaction that writes them, so a read is one row per symbol."""

    __tablename__ = "price_series"

    symbol: Mapped[str] = mapped_column(String(20), primary_key=True)
    asset_class: Mapped[str] = mapped_column(String(10), primary_key=True)
    days: Mapped[bytes] = mapped_column(LargeBinary)
    prices: Mapped[bytes] = mapped_column(LargeBinary)
    first_day: Mapped[date]
    last_day: Mapped[date]
    last_price: Mapped[Decimal] = mapped_column(PRICE)


class ManualPrice(Base):
    """Prices the user sets for a custom asset, one per day."""

    __tablename__ = "manual_prices"

    asset_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    price: Mapped[Decimal] = mapped_column(PRICE)


class CachedFxRate(Base):
    """market-data's rate for a date, cached so analytics stay fast and work while market-data is down."""

    __tablename__ = "cached_fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    rate: Mapped[Decimal] = mapped_column(RATE)
    source: Mapped[str] = mapped_column(String(50))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class PortfolioSnapshot(IdMixin, Base):
    __tablename__ = "portfolio_snapshots"
    __table_args__ = (UniqueConstraint("portfolio_id", "snapshot_date", name="uq_portfolio_snapshots_day"),)

    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    snapshot_date: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    total_value: Mapped[Decimal]
    invested: Mapped[Decimal]
    total_return: Mapped[Decimal]
    return_percent: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    allocation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class WatchlistItem(IdMixin, Base):
    __tablename__ = "watchlist"
    __table_args__ = (UniqueConstraint("user_id", "symbol", "asset_class", name="uq_watchlist_user_symbol"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    symbol: Mapped[str] = mapped_column(String(20))
    asset_class: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class PriceAlert(IdMixin, Base):
    __tablename__ = "price_alerts"
    __table_args__ = (Index("ix_price_alerts_active_symbol", "symbol", "asset_class", "status"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    symbol: Mapped[str] = mapped_column(String(20))
    asset_class: Mapped[str] = mapped_column(String(10))
    condition: Mapped[str] = mapped_column(String(15))
    threshold: Mapped[Decimal] = mapped_column(PRICE)
    reference_price: Mapped[Decimal | None] = mapped_column(PRICE)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10), server_default="active")
    triggered_price: Mapped[Decimal | None] = mapped_column(PRICE)
    triggered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
