"""Response models of the market-data API: prices and rates are decimal strings, never floats."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field


class QuoteOut(BaseModel):
    symbol: str
    asset_class: str
    price: Decimal
    currency: str
    as_of: datetime
    source: str = Field(description="Provider; `offline:...` when served from shipped historical data.")
    age_seconds: int = Field(description="Seconds since the provider set this price.")
    stale: bool = Field(description="True when the provider is down and this is the last known price.")


class CloseOut(BaseModel):
    date: date
    close: Decimal
    currency: str


class HistoryOut(BaseModel):
    symbol: str
    asset_class: str
    interval: str
    source: str
    stale: bool
    closes: list[CloseOut]


class MatchOut(BaseModel):
    symbol: str
    name: str
    asset_class: str


class FxOut(BaseModel):
    base: str
    quote: str
    date: date
    rate: Decimal
    source: str
