"""Request and response models of income sources and transactions: the public contract.

Money travels as decimal strings (numbers are accepted on input) with an ISO 4217 currency and
never more decimals than the currency has; responses show exactly the currency's minor unit.
Unknown fields are refused (422 naming the field) so a typo never silently does nothing.
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from pfms_income.domain import IncomeType, SourceFrequency
from pfms_platform.envelope import PageParams
from pfms_platform.schemas import Body, Currency, Metadata, Priced, refuse_null

Amount = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=4, description='Decimal string, e.g. "1500.00"')]
NonNegative = Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=4)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


# --- sources ---------------------------------------------------------------------------------------


class SourceCreate(Body):
    name: Name
    type: IncomeType
    amount: Amount | None = Field(default=None, description="Expected net amount per payment")
    currency: Currency
    frequency: SourceFrequency | None = Field(default=None, description="None: irregular, nothing expected")
    start_date: dt.date | None = Field(default=None, description="First (or next) payment date; anchors the schedule")
    end_date: dt.date | None = None
    is_active: StrictBool = True
    description: Text | None = None


class SourceUpdate(Body):
    """Partial update: only the fields sent change; `null` clears an optional field."""

    name: Name | None = None
    type: IncomeType | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    frequency: SourceFrequency | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    is_active: StrictBool | None = None
    description: Text | None = None

    _required = field_validator("name", "type", "currency", "is_active", mode="before")(refuse_null)


class Source(Priced):
    money_fields = ("amount",)

    id: uuid.UUID
    name: str
    type: IncomeType
    amount: Decimal | None
    frequency: SourceFrequency | None
    is_recurring: bool
    start_date: dt.date | None
    end_date: dt.date | None
    next_expected_date: dt.date | None = Field(description="Next payment on or after today, if one is expected")
    is_active: bool
    description: str | None
    space_id: uuid.UUID | None = Field(description="The shared space it belongs to; null: the personal space")
    created_at: dt.datetime
    updated_at: dt.datetime


class SourceFilters(PageParams):
    model_config = ConfigDict(extra="forbid")

    type: IncomeType | None = None
    currency: Currency | None = None
    active: bool | None = None
    recurring: bool | None = None


# --- transactions ----------------------------------------------------------------------------------


class TransactionCreate(Body):
    source_id: uuid.UUID | None = Field(default=None, description="One of the caller's income sources")
    type: IncomeType | None = Field(default=None, description="Defaults to the source's type, else `other`")
    amount: Amount = Field(description="Gross amount")
    tax_deducted: NonNegative = Decimal(0)
    net_amount: NonNegative | None = Field(default=None, description="Optional; must equal amount - tax_deducted")
    currency: Currency | None = Field(default=None, description="Defaults to the source's currency")
    date: dt.date = Field(description="Day received (at most one day ahead of UTC)")
    description: Text | None = None
    category: Label | None = None
    payment_method: Label | None = None
    account_id: uuid.UUID | None = Field(default=None, description="The account (accounts service) it was paid into")
    metadata: Metadata = Field(default_factory=dict)


class TransactionUpdate(Body):
    """Partial update; the net amount is recomputed from the new amount and tax."""

    source_id: uuid.UUID | None = None
    type: IncomeType | None = None
    amount: Amount | None = None
    tax_deducted: NonNegative | None = None
    net_amount: NonNegative | None = None
    currency: Currency | None = None
    date: dt.date | None = None
    description: Text | None = None
    category: Label | None = None
    payment_method: Label | None = None
    account_id: uuid.UUID | None = Field(default=None, description="null: paid into no account")
    metadata: Metadata | None = None

    _required = field_validator("type", "amount", "tax_deducted", "currency", "date", "metadata", mode="before")(
        refuse_null
    )


class Transaction(Priced):
    money_fields = ("amount", "tax_deducted", "net_amount")

    id: uuid.UUID
    source_id: uuid.UUID | None
    type: IncomeType
    amount: Decimal
    tax_deducted: Decimal
    net_amount: Decimal
    date: dt.date
    description: str | None
    category: str | None
    payment_method: str | None
    account_id: uuid.UUID | None
    metadata: dict[str, Any]
    space_id: uuid.UUID | None = Field(description="The shared space it belongs to; null: the personal space")
    created_at: dt.datetime
    updated_at: dt.datetime


TransactionSort = Literal["date", "-date", "amount", "-amount", "net_amount", "-net_amount"]


class TransactionFilters(PageParams):
    model_config = ConfigDict(extra="forbid")

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    source_id: uuid.UUID | None = None
    type: IncomeType | None = None
    currency: Currency | None = None
    category: Label | None = None
    min_amount: NonNegative | None = Field(default=None, description="On the gross amount")
    max_amount: NonNegative | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, description="Words in the description (case-insensitive)"
    )
    sort: TransactionSort = Field(default="-date", description="Field, `-` for descending; ties by newest")


SummaryGroup = Literal["month", "source", "type", "category"]


class SummaryParams(Body):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    group_by: SummaryGroup = "month"
    currency: Currency | None = None


class Totals(Priced):
    money_fields = ("amount", "tax_deducted", "net_amount")

    count: int
    amount: Decimal
    tax_deducted: Decimal
    net_amount: Decimal


class SummaryRow(Totals):
    key: str | None = Field(description="Month (YYYY-MM), source id, type or category; null when unassigned")
    label: str | None = Field(description="The source's name when grouping by source")


class Summary(BaseModel):
    """Totals per currency (amounts in different currencies are never added together: no FX yet)."""

    date_from: dt.date | None
    date_to: dt.date | None
    group_by: SummaryGroup
    totals: list[Totals]
    groups: list[SummaryRow]


# --- projection ------------------------------------------------------------------------------------


class ProjectionParams(Body):
    days: int = Field(default=30, ge=1, le=365, description="Horizon: days after today")
    starting_balance: Annotated[Decimal, Field(max_digits=19, decimal_places=4)] | None = Field(
        default=None, description="Balance at the end of today (no accounts service yet); settings default otherwise"
    )
    threshold: Annotated[Decimal, Field(max_digits=19, decimal_places=4)] | None = Field(
        default=None, description="Warn on days the balance falls below it; settings default otherwise"
    )
    currency: Currency | None = Field(
        default=None, description="Currency projected; defaults to the profile currency learned from user.updated"
    )


class ProjectionDay(Priced):
    money_fields = ("expected_income", "expected_expenses", "burn", "scheduled_outflows", "projected_balance")

    date: dt.date
    expected_income: Decimal
    expected_expenses: Decimal = Field(description="burn + scheduled_outflows")
    burn: Decimal = Field(description="Share of the average daily spending")
    scheduled_outflows: Decimal = Field(description="Recurring expenses and loan instalments due that day")
    projected_balance: Decimal
    confidence: float = Field(ge=0, le=1, description="1 today, halving every confidence half-life")
    below_threshold: bool
    notes: list[str] = Field(description='The named flows of the day, e.g. "+3000.00 Salary"')


class ForeignCurrency(Priced):
    """Flows in another currency over the same horizon, not converted (no FX yet)."""

    money_fields = ("daily_burn", "expected_income", "expected_expenses")

    daily_burn: Decimal
    expected_income: Decimal
    expected_expenses: Decimal


class CashflowProjection(Priced):
    money_fields = (
        "starting_balance",
        "threshold",
        "daily_burn",
        "total_expected_income",
        "total_expected_expenses",
        "ending_balance",
        "lowest_balance",
    )

    as_of: dt.date = Field(description="Today; the series covers the days after it")
    days: int
    starting_balance: Decimal
    threshold: Decimal
    daily_burn: Decimal = Field(description="Average daily spending not booked by a schedule, over the burn window")
    burn_window_days: int
    total_expected_income: Decimal
    total_expected_expenses: Decimal
    ending_balance: Decimal
    lowest_balance: Decimal
    lowest_balance_date: dt.date
    warning_dates: list[dt.date] = Field(description="First day of each run of days below the threshold")
    series: list[ProjectionDay]
    other_currencies: list[ForeignCurrency]
    calculated_at: dt.datetime
    cached: bool = Field(description="Served from the 5-minute cache")
