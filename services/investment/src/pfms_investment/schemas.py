"""Request and response models: the public contract of the investment service.

Money and prices are `Decimal` (JSON strings in responses); quantities have at most 8 decimals,
money at most 4, prices at most 8. Unknown fields are refused (422) so a typo never does nothing.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from pfms_finance.currency import normalise_currency
from pfms_investment.lots import Kind, Method

LIMIT = Decimal(10) ** 12


def _places(places: int) -> Any:
    def check(value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("must be a finite number")
        if value < 0:
            raise ValueError("must not be negative")
        if value >= LIMIT:
            raise ValueError("must be below 10^12")
        exponent = value.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > places:
            raise ValueError(f"at most {places} decimals")
        return value

    return AfterValidator(check)


Money = Annotated[Decimal, _places(4)]
Price = Annotated[Decimal, _places(8)]
Quantity = Annotated[Decimal, _places(8)]
Currency = Annotated[str, AfterValidator(normalise_currency)]
Symbol = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9.\-^=:_]+$")]


class AssetType(StrEnum):
    STOCK = "stock"
    CRYPTO = "crypto"
    MUTUAL_FUND = "mutual_fund"
    ETF = "etf"
    BOND = "bond"
    CUSTOM = "custom"


class MarketClass(StrEnum):
    """The classes market-data quotes."""

    STOCK = "stock"
    CRYPTO = "crypto"
    FOREX = "forex"


def market_class(asset_type: str) -> str | None:
    """How market-data knows an asset; None for a custom asset (manual prices only)."""
    if asset_type == AssetType.CUSTOM:
        return None
    return MarketClass.CRYPTO.value if asset_type == AssetType.CRYPTO else MarketClass.STOCK.value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Benchmark(_In):
    symbol: Symbol
    asset_class: MarketClass = MarketClass.STOCK


class PortfolioCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    base_currency: Currency = "USD"
    cost_method: Method = Method.FIFO
    benchmark: Benchmark | None = None


class PortfolioUpdate(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    base_currency: Currency | None = None
    cost_method: Method | None = None
    benchmark: Benchmark | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class PortfolioOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    base_currency: str
    cost_method: Method
    benchmark: Benchmark | None
    created_at: datetime
    updated_at: datetime


class AssetCreate(_In):
    asset_type: AssetType
    symbol: Symbol
    name: str | None = Field(default=None, max_length=200)
    sector: str | None = Field(default=None, max_length=100)
    currency: Currency = "USD"
    manual_price: Price | None = Field(default=None, description="Custom assets only: the price to value them at.")

    @model_validator(mode="after")
    def _manual_price_for_custom_only(self) -> "AssetCreate":
        if self.manual_price is not None and self.asset_type != AssetType.CUSTOM:
            raise ValueError("manual_price is for custom assets only")
        return self


class AssetUpdate(_In):
    name: str | None = Field(default=None, max_length=200)
    sector: str | None = Field(default=None, max_length=100)
    manual_price: Price | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class AssetOut(BaseModel):
    id: uuid.UUID
    portfolio_id: uuid.UUID
    asset_type: AssetType
    symbol: str
    name: str | None
    sector: str | None
    currency: str
    manual_price: Decimal | None
    created_at: datetime


class LotPick(_In):
    lot_id: uuid.UUID = Field(description="The buy or transfer-in the lot came from.")
    quantity: Quantity


class TransactionCreate(_In):
    asset_id: uuid.UUID
    transaction_type: Kind
    date: date
    quantity: Quantity = Field(default=Decimal(0), description="Units; for a split, the ratio (2 for 2-for-1).")
    price: Price = Field(default=Decimal(0), description="Per unit, in the asset's currency.")
    amount: Money = Field(default=Decimal(0), description="Dividend or fee: the gross cash amount.")
    fees: Money = Decimal(0)
    tax: Money = Decimal(0)
    lots: list[LotPick] = Field(default_factory=list, max_length=1000, description="Specific-lot sells only.")
    notes: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _fields_of_the_kind(self) -> "TransactionCreate":
        kind = self.transaction_type
        if kind in (Kind.DIVIDEND, Kind.FEE):
            if self.amount <= 0:
                raise ValueError(f"a {kind.value} needs an amount greater than zero")
        elif self.quantity <= 0:
            raise ValueError(f"a {kind.value} needs a quantity greater than zero")
        if kind in (Kind.BUY, Kind.SELL) and self.price <= 0:
            raise ValueError(f"a {kind.value} needs a price greater than zero")
        if self.lots and kind != Kind.SELL:
            raise ValueError("only a sell names lots")
        return self


class TransactionOut(BaseModel):
    id: uuid.UUID
    portfolio_id: uuid.UUID
    asset_id: uuid.UUID
    transaction_type: Kind
    date: date
    quantity: Decimal
    price: Decimal
    amount: Decimal
    fees: Decimal
    tax: Decimal
    lots: list[dict[str, Any]]
    notes: str | None
    created_at: datetime


class LotOut(BaseModel):
    lot_id: uuid.UUID
    acquired: date
    quantity: Decimal
    cost: Decimal


class DisposalOut(BaseModel):
    transaction_id: uuid.UUID
    lot_id: uuid.UUID
    acquired: date
    disposed: date
    quantity: Decimal
    proceeds: Decimal
    cost: Decimal
    gain: Decimal


class PositionOut(BaseModel):
    asset_id: uuid.UUID
    symbol: str
    currency: str
    cost_method: Method
    quantity: Decimal
    cost_basis: Decimal
    realized_pnl: Decimal
    lots: list[LotOut]
    disposals: list[DisposalOut]


class AllocationOut(BaseModel):
    key: str
    value: Decimal
    percent: Decimal | None


class Allocation(BaseModel):
    asset_type: list[AllocationOut]
    sector: list[AllocationOut]
    currency: list[AllocationOut]


class PeriodReturn(BaseModel):
    period: str
    start: date
    end: date
    twr: Decimal | None = Field(description="Time-weighted return as a fraction (0.05 = 5 %).")
    xirr: Decimal | None = Field(description="Money-weighted return (XIRR), annualised, as a fraction.")
    benchmark: Decimal | None = Field(description="The benchmark's price return over the same period.")


class AssetAnalytics(BaseModel):
    asset_id: uuid.UUID
    symbol: str
    name: str | None
    asset_type: str
    sector: str | None
    currency: str
    quantity: Decimal
    price: Decimal | None
    value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    unrealized_pnl_percent: Decimal | None
    value_base: Decimal
    realized_pnl_base: Decimal
    weight_percent: Decimal | None


class Analytics(BaseModel):
    base_currency: str
    as_of: date
    cost_method: Method
    current_value: Decimal
    invested: Decimal = Field(description="Cost basis of what is still held (fees and tax included).")
    total_cost_in: Decimal = Field(description="Cost of every acquisition: the base of total_return_percent.")
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    total_return: Decimal
    total_return_percent: Decimal | None
    allocation: Allocation
    returns: list[PeriodReturn]
    assets: list[AssetAnalytics]
    benchmark: Benchmark | None = None
    stale: list[str] = Field(default_factory=list, description="What could not be refreshed (market-data down).")


class SnapshotOut(BaseModel):
    snapshot_date: date
    currency: str
    total_value: Decimal
    invested: Decimal
    total_return: Decimal
    return_percent: Decimal | None
    allocation: dict[str, Any]


class WatchCreate(_In):
    symbol: Symbol
    asset_class: MarketClass = MarketClass.STOCK
    note: str | None = Field(default=None, max_length=200)


class WatchOut(BaseModel):
    id: uuid.UUID
    symbol: str
    asset_class: MarketClass
    note: str | None
    price: Decimal | None = None
    currency: str | None = None
    as_of: datetime | None = None
    created_at: datetime


class Condition(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    MOVE_PERCENT = "move_percent"


class AlertCreate(_In):
    symbol: Symbol
    asset_class: MarketClass = MarketClass.STOCK
    condition: Condition
    threshold: Price = Field(description="The price to cross, or the % move from the price when the alert is set.")

    @model_validator(mode="after")
    def _positive(self) -> "AlertCreate":
        if self.threshold <= 0:
            raise ValueError("threshold must be greater than zero")
        return self


class AlertOut(BaseModel):
    id: uuid.UUID
    symbol: str
    asset_class: MarketClass
    condition: Condition
    threshold: Decimal
    reference_price: Decimal | None
    currency: str
    status: str
    triggered_price: Decimal | None
    triggered_at: datetime | None
    created_at: datetime
