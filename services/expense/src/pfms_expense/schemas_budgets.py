"""Request and response models of budgets (see schemas.py for the conventions)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from pfms_expense.budgets import DEFAULT_THRESHOLDS, BudgetPeriod
from pfms_expense.schemas import Amount, Body, Currency, Name, refuse_null

Thresholds = Annotated[list[Annotated[int, Field(ge=1, le=1000)]], Field(min_length=1, max_length=10)]


class BudgetCreate(Body):
    name: Name
    category_id: uuid.UUID | None = Field(default=None, description="None: all spending in the currency")
    amount: Amount
    currency: Currency
    period: BudgetPeriod
    start_date: date
    end_date: date | None = Field(default=None, description="Required for a custom period")
    rollover: bool = False
    alert_thresholds: Thresholds = list(DEFAULT_THRESHOLDS)


class BudgetUpdate(Body):
    name: Name | None = None
    category_id: uuid.UUID | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    period: BudgetPeriod | None = None
    start_date: date | None = None
    end_date: date | None = None
    rollover: bool | None = None
    alert_thresholds: Thresholds | None = None
    is_active: bool | None = None

    _required = field_validator(
        "name",
        "amount",
        "currency",
        "period",
        "start_date",
        "rollover",
        "alert_thresholds",
        "is_active",
        mode="before",
    )(refuse_null)


class BudgetStatus(BaseModel):
    period_start: date
    period_end: date
    budget_amount: Decimal
    rollover_amount: Decimal
    available: Decimal
    spent: Decimal
    remaining: Decimal
    percent_used: Decimal
    thresholds_reached: list[int]
    unconverted: dict[str, Decimal] = Field(
        description="Per currency, expenses of the period with no rate into the budget's currency yet (not in spent)"
    )


class BudgetOut(BaseModel):
    id: uuid.UUID
    name: str
    category_id: uuid.UUID | None
    amount: Decimal
    currency: str
    period: BudgetPeriod
    start_date: date
    end_date: date | None
    rollover: bool
    alert_thresholds: list[int]
    is_active: bool
    space_id: uuid.UUID | None = Field(description="The shared space it belongs to; null: personal")
    current: BudgetStatus | None = Field(description="Today's period, if the budget covers today")
    created_at: datetime
    updated_at: datetime
