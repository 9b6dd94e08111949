"""Events of the investment service: transactions, realized gains, tracked symbols, price alerts."""

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from pfms_contracts.base import EventData


class InvestmentTransaction(EventData):
    type: ClassVar[str] = "investment.transaction"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = "A transaction was recorded in a portfolio (buy, sell, dividend, fee, split, transfer)."
    portfolio_id: UUID
    asset_id: UUID
    transaction_id: UUID
    symbol: str
    asset_type: str = Field(description="stock | crypto | mutual_fund | etf | bond | custom")
    transaction_type: str = Field(description="buy | sell | dividend | fee | split | transfer_in | transfer_out")
    quantity: Decimal = Field(description="Units (up to 8 decimals); the ratio for a split; 0 for dividend and fee.")
    price: Decimal = Field(description="Price per unit in `currency`; 0 where it does not apply.")
    amount: Decimal = Field(description="Gross cash amount: quantity x price, or the dividend or fee paid.")
    fees: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    currency: str = Field(min_length=3, max_length=3)
    transaction_date: date


class RealizedGain(EventData):
    type: ClassVar[str] = "investment.realized_gain"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = (
        "A sell disposed of (part of) one lot: what the tax service needs for capital gains, one event per lot."
    )
    portfolio_id: UUID
    asset_id: UUID
    transaction_id: UUID = Field(description="The sell.")
    lot_id: UUID = Field(description="The buy or transfer-in the lot came from.")
    symbol: str
    asset_type: str
    quantity: Decimal
    acquisition_date: date
    disposal_date: date
    proceeds: Decimal = Field(description="Net of the sell's fees and tax, allocated pro rata to quantity.")
    cost: Decimal = Field(description="Cost basis of the units disposed of, buy fees and tax included.")
    gain: Decimal = Field(description="proceeds - cost (negative for a loss).")
    currency: str = Field(min_length=3, max_length=3)
    cost_method: str = Field(description="fifo | lifo | average | specific")
    revision: int = Field(
        default=0,
        ge=0,
        description="0 when the sell is recorded; a later correction comes as `investment.realized_gain_revised` "
        "with a higher revision.",
    )


class RealizedGainLot(BaseModel):
    lot_id: UUID = Field(description="The buy or transfer-in the lot came from.")
    quantity: Decimal
    acquisition_date: date
    proceeds: Decimal = Field(description="Net of the sell's fees and tax, allocated pro rata to quantity.")
    cost: Decimal = Field(description="Cost basis of the units disposed of, buy fees and tax included.")
    gain: Decimal = Field(description="proceeds - cost (negative for a loss).")


class RealizedGainRevised(EventData):
    type: ClassVar[str] = "investment.realized_gain_revised"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = (
        "A sell's realized gains changed after the fact (a transaction inserted, edited or deleted before it, the "
        "cost method changed, the sell edited, or the sell, its asset or portfolio deleted): `lots` replaces every "
        "figure published earlier for `transaction_id` (empty: the sell no longer counts). Keep the highest "
        "`revision` per sell."
    )
    portfolio_id: UUID
    asset_id: UUID
    transaction_id: UUID = Field(description="The sell whose gains are replaced.")
    revision: int = Field(ge=1, description="Increases with every correction of this sell; the original events are 0.")
    reason: Literal[
        "backdated_transaction",
        "transaction_edited",
        "transaction_deleted",
        "cost_method_changed",
        "asset_deleted",
        "portfolio_deleted",
    ]
    symbol: str
    asset_type: str
    disposal_date: date
    currency: str = Field(min_length=3, max_length=3)
    cost_method: str = Field(description="fifo | lifo | average | specific")
    lots: list[RealizedGainLot] = Field(description="The sell's disposals, one per lot, as they now stand.")
    proceeds: Decimal = Field(description="Sum over `lots`.")
    cost: Decimal = Field(description="Sum over `lots`.")
    gain: Decimal = Field(description="Sum over `lots`.")


class TrackedSymbol(BaseModel):
    symbol: str
    asset_class: str = Field(description="stock | crypto | forex (the market-data provider's class)")


class SymbolsChanged(EventData):
    type: ClassVar[str] = "investment.symbols_changed"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = (
        "A user started (watch) or stopped (unwatch) holding or watching symbols; market-data refreshes the "
        "symbols anyone tracks."
    )
    symbols: list[TrackedSymbol]
    action: Literal["watch", "unwatch"]


class PriceAlertTriggered(EventData):
    type: ClassVar[str] = "investment.price_alert_triggered"
    exchange: ClassVar[str] = "notification.events"
    summary: ClassVar[str] = "A price alert fired (once): the notification service tells the user."
    alert_id: UUID
    symbol: str
    asset_class: str
    condition: str = Field(description="above | below | move_percent")
    threshold: Decimal = Field(description="The price crossed, or the % move (absolute) from the reference price.")
    reference_price: Decimal | None = Field(default=None, description="Price when the alert was set (% moves).")
    price: Decimal = Field(description="The price that fired it.")
    currency: str = Field(min_length=3, max_length=3)
