"""Request and response models: the public contract of the expense service.

Bodies refuse unknown fields (422 naming the field). Money comes in as a decimal string (or a JSON
number) and goes out as a decimal string with the currency's minor units; currencies are ISO 4217.
PATCH bodies are partial: only the fields sent change, `null` clears an optional field.
"""

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

from pfms_expense.habits import StatsPeriod
from pfms_expense.models import Source
from pfms_finance.recurrence import Frequency
from pfms_platform.envelope import MAX_PAGE, MAX_PAGE_SIZE
from pfms_platform.schemas import Body, Currency, refuse_null

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50)]
Amount = Annotated[Decimal, Field(allow_inf_nan=False)]


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


# Categories


class CategoryCreate(Body):
    name: Name
    icon: Label | None = None
    color: Color | None = None
    parent_id: uuid.UUID | None = None


class CategoryUpdate(Body):
    name: Name | None = None
    icon: Label | None = None
    color: Color | None = None
    parent_id: uuid.UUID | None = None
    hidden: bool | None = None

    _required = field_validator("name", "hidden", mode="before")(refuse_null)


class CategoryMerge(Body):
    into_id: uuid.UUID = Field(description="The category that receives the expenses; the merged one is deleted")


class CategoryOut(BaseModel):
    id: uuid.UUID
    name: str
    icon: str | None
    color: str | None
    parent_id: uuid.UUID | None
    is_system: bool
    hidden: bool
    created_at: datetime
    updated_at: datetime


class MergeOut(BaseModel):
    into: CategoryOut
    moved_expenses: int


# Expenses


class Location(Body):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lng: Annotated[float, Field(ge=-180, le=180)]
    address: Text | None = None


class ExpenseCreate(Body):
    amount: Amount
    currency: Currency | None = Field(default=None, description="Default: the user's profile currency")
    category_id: uuid.UUID | None = None
    description: Text = ""
    expense_date: date
    expense_time: time | None = None
    location: Location | None = None
    payment_method: Label | None = None
    account_id: uuid.UUID | None = Field(default=None, description="The account (accounts service) it was paid from")
    tags: Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)] = []
    attachments: Annotated[list[HttpUrl], Field(max_length=10)] = []
    metadata: dict[str, Any] = Field(default_factory=dict)


class ExpenseUpdate(Body):
    amount: Amount | None = None
    currency: Currency | None = None
    category_id: uuid.UUID | None = None
    description: Text | None = None
    expense_date: date | None = None
    expense_time: time | None = None
    location: Location | None = None
    payment_method: Label | None = None
    account_id: uuid.UUID | None = Field(default=None, description="null: paid from no account")
    tags: Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)] | None = None
    attachments: Annotated[list[HttpUrl], Field(max_length=10)] | None = None
    metadata: dict[str, Any] | None = None

    _required = field_validator(
        "amount", "currency", "expense_date", "description", "tags", "attachments", "metadata", mode="before"
    )(refuse_null)


class ExpenseOut(BaseModel):
    id: uuid.UUID
    amount: Decimal
    currency: str
    category_id: uuid.UUID | None
    description: str
    expense_date: date
    expense_time: time | None
    location: dict[str, Any] | None
    payment_method: str | None
    account_id: uuid.UUID | None
    space_id: uuid.UUID | None = Field(description="The shared space it belongs to; null: personal")
    tags: list[str]
    attachments: list[str]
    source: str
    recurring_expense_id: uuid.UUID | None
    import_batch_id: uuid.UUID | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


Sort = Literal["date", "-date", "amount", "-amount", "created_at", "-created_at"]


class ExpenseFilters(BaseModel):
    """Query of `GET /expenses`: every filter narrows; `category_id` includes its sub-categories."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    date_from: date | None = None
    date_to: date | None = None
    category_id: uuid.UUID | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=10, description="Expenses carrying all these tags")
    min_amount: Amount | None = Field(default=None, ge=0)
    max_amount: Amount | None = Field(default=None, ge=0)
    currency: Currency | None = None
    payment_method: Label | None = None
    source: Source | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        default=None, description="Free text found in the description (case-insensitive)"
    )
    sort: Sort = "-date"


class SummaryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_by: Literal["category", "month", "tag"]
    date_from: date
    date_to: date


class SummaryLine(BaseModel):
    key: str | None = Field(description="Category id, month (YYYY-MM) or tag; null for uncategorised")
    label: str | None
    total: Decimal
    count: int


class Unconverted(BaseModel):
    currency: str
    total: Decimal = Field(description="In `currency`, not converted")
    count: int


class Summary(BaseModel):
    currency: str = Field(
        description="The user's profile currency; totals count every expense converted into it at its date's rate"
    )
    group_by: str
    date_from: date
    date_to: date
    total: Decimal
    lines: list[SummaryLine]
    unconverted: list[Unconverted] = Field(
        description="Expenses with no FX rate yet (market-data unreachable), per currency; counted once converted"
    )


# Recurring expenses


class RecurringCreate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    amount: Amount
    currency: Currency
    category_id: uuid.UUID | None = None
    payment_method: Label | None = None
    account_id: uuid.UUID | None = Field(default=None, description="The account its occurrences are paid from")
    tags: Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)] = []
    frequency: Frequency
    start_date: date
    end_date: date | None = None
    reminder_days: int = Field(default=3, ge=0, le=365)
    inflation_rate: Decimal = Field(default=Decimal(0), ge=0, le=1, decimal_places=4, description="0.03 is 3 % a year")
    auto_pay: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


class RecurringUpdate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    category_id: uuid.UUID | None = None
    payment_method: Label | None = None
    account_id: uuid.UUID | None = None
    tags: Annotated[list[Tag], Field(max_length=20), AfterValidator(_unique)] | None = None
    frequency: Frequency | None = None
    start_date: date | None = None
    end_date: date | None = None
    reminder_days: int | None = Field(default=None, ge=0, le=365)
    inflation_rate: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=4)
    auto_pay: bool | None = None
    metadata: dict[str, Any] | None = None

    _required = field_validator(
        "name",
        "amount",
        "currency",
        "tags",
        "frequency",
        "start_date",
        "reminder_days",
        "inflation_rate",
        "auto_pay",
        "metadata",
        mode="before",
    )(refuse_null)


class RecurringOut(BaseModel):
    id: uuid.UUID
    name: str
    amount: Decimal
    currency: str
    category_id: uuid.UUID | None
    payment_method: str | None
    account_id: uuid.UUID | None
    space_id: uuid.UUID | None = Field(description="The shared space it belongs to; null: personal")
    tags: list[str]
    frequency: Frequency
    start_date: date
    end_date: date | None
    next_due_date: date | None
    last_paid_date: date | None
    reminder_days: int
    inflation_rate: Decimal
    auto_pay: bool
    is_active: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Occurrence(BaseModel):
    due_date: date
    amount: Decimal


# Habits


class HabitCreate(Body):
    name: Name
    category: Label | None = None
    unit_cost: Amount
    currency: Currency
    icon: Label | None = None
    target_reduction: int = Field(default=0, ge=0, le=100, description="Percent fewer than the baseline")
    baseline_per_week: Decimal | None = Field(default=None, ge=0, le=100000, decimal_places=2)


class HabitUpdate(Body):
    name: Name | None = None
    category: Label | None = None
    unit_cost: Amount | None = None
    currency: Currency | None = None
    icon: Label | None = None
    target_reduction: int | None = Field(default=None, ge=0, le=100)
    baseline_per_week: Decimal | None = Field(default=None, ge=0, le=100000, decimal_places=2)

    _required = field_validator("name", "unit_cost", "currency", "target_reduction", mode="before")(refuse_null)


class HabitOut(BaseModel):
    id: uuid.UUID
    name: str
    category: str | None
    unit_cost: Decimal
    currency: str
    icon: str | None
    target_reduction: int
    baseline_per_week: Decimal | None
    created_at: datetime
    updated_at: datetime


class HabitLogCreate(Body):
    quantity: int = Field(ge=1, le=100000)
    log_date: date | None = Field(default=None, description="Default: today (UTC)")
    log_time: time | None = None
    notes: Text | None = None


class HabitLogOut(BaseModel):
    id: uuid.UUID
    habit_id: uuid.UUID
    quantity: int
    total_cost: Decimal
    log_date: date
    log_time: time | None
    notes: str | None
    created_at: datetime


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: StatsPeriod = StatsPeriod.WEEK
    periods: int = Field(default=8, ge=1, le=104, description="How many periods, ending with the current one")


class StatsBucket(BaseModel):
    period_start: date
    quantity: int
    cost: Decimal


class HabitProgress(BaseModel):
    baseline: Decimal | None = Field(description="Expected quantity per period without the reduction")
    current: int
    reduction_percent: Decimal | None
    target_reduction: int
    on_track: bool | None


class HabitStats(BaseModel):
    habit_id: uuid.UUID
    period: StatsPeriod
    currency: str
    buckets: list[StatsBucket]
    total_quantity: int
    total_cost: Decimal
    progress: HabitProgress
