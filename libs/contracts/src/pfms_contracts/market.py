"""Events of the market-data service: prices and rates concern everybody, so no user_id."""

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from pfms_contracts.base import EventData


class PriceUpdated(EventData):
    type: ClassVar[str] = "price.updated"
    exchange: ClassVar[str] = "analytics.events"
    summary: ClassVar[str] = "A fresh quote for a symbol someone holds or watches (published by the refresh scheduler)."
    user_id: None = None
    symbol: str = Field(description="Upper-case symbol: AAPL, BTC, or a pair such as EUR-USD.")
    asset_class: str = Field(description="stock | crypto | forex | fund | etf | bond")
    price: Decimal
    currency: str = Field(min_length=3, max_length=3)
    as_of: datetime
    source: str = Field(description="The provider the price came from, e.g. ecb-reference-rates.")
    change_percent: Decimal | None = Field(default=None, description="Move since the previous published price.")
