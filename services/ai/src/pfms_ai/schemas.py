"""Request and response models of the ai service (money as decimal strings, never floats)."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from pfms_platform.schemas import Body, Currency


class CategorizeRequest(Body):
    description: str = Field(min_length=1, max_length=500)
    amount: Decimal = Field(gt=0, max_digits=19, decimal_places=4)
    currency: Currency


class Alternative(BaseModel):
    category: str
    confidence: Decimal


class CategorizeResult(BaseModel):
    category: str | None = Field(description="None when the best guess is below the confidence threshold.")
    category_id: uuid.UUID | None = None
    confidence: Decimal
    best_guess: str
    alternatives: list[Alternative]
    model_version: str
    source: Literal["rule", "user", "global"]


class Insight(BaseModel):
    id: uuid.UUID
    insight_type: str = Field(description="spending_pattern | savings_opportunity | risk_alert | subscription")
    kind: str = Field(description="month_over_month | savings | anomaly | duplicate | subscription")
    title: str
    description: str
    severity: Literal["low", "medium", "high"]
    category: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    date: dt.date | None = None
    metadata: dict[str, Any]
    is_read: bool
    created_at: dt.datetime


class CashflowRequest(Body):
    months: int = Field(default=3, ge=1, le=24)
    currency: Currency | None = Field(default=None, description="Defaults to the currency most of the history is in.")


class Interval(BaseModel):
    lower: Decimal
    upper: Decimal


class MonthForecast(BaseModel):
    month: str
    expenses: Decimal
    income: Decimal
    net: Decimal
    expenses_80: Interval
    expenses_95: Interval
    income_80: Interval
    income_95: Interval
    net_80: Interval


class CashflowForecast(BaseModel):
    currency: str
    method: str
    history_months: int
    history: list[dict[str, Any]]
    forecast: list[MonthForecast]


class ChatRequest(Body):
    message: str = Field(min_length=1, max_length=2000)
    session_id: str | None = Field(default=None, max_length=100)


class ChatAnswer(BaseModel):
    session_id: str
    answer: str
    intent: str
    entities: dict[str, Any]
    data: dict[str, Any]
    engine: Literal["local", "llm"]


class ChatMessage(BaseModel):
    id: str
    session_id: str
    role: Literal["user", "assistant"]
    message: str
    intent: str | None = None
    entities: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    timestamp: dt.datetime


class LineItem(BaseModel):
    description: str
    amount: Decimal


class ReceiptResult(BaseModel):
    merchant: str | None
    date: dt.date | None
    total: Decimal | None
    currency: str | None
    line_items: list[LineItem]
    suggested_category: str | None
    category_confidence: Decimal | None
    text: str
