"""Request and response models of goals, contributions, auto-save rules and recommendations.

Money travels as decimal strings (numbers are accepted on input) in the goal's ISO 4217 currency,
never with more decimals than the currency has (checked against the goal); responses show exactly
the currency's minor unit. Unknown fields are refused (422 naming the field).
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints, field_validator, model_validator

from pfms_platform.envelope import PageParams
from pfms_platform.schemas import Body, Currency, Priced, refuse_null
from pfms_savings.domain import EntryKind, EntrySource, GoalCategory, GoalStatus, Priority, RuleKind

Amount = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=4, description='Decimal string, e.g. "150.00"')]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
RoundUpUnit = Literal["1", "5", "10"]
ScheduleFrequency = Literal["daily", "weekly", "monthly"]


# --- goals -----------------------------------------------------------------------------------------


class GoalCreate(Body):
    name: Name
    category: GoalCategory = GoalCategory.OTHER
    priority: Priority = Priority.MEDIUM
    target_amount: Amount
    currency: Currency
    target_date: dt.date | None = Field(default=None, description="Without a date there is no required pace")
    notes: Notes | None = None


class GoalUpdate(Body):
    """Partial update: only the fields sent change; `null` clears `target_date` or `notes`.

    The currency is fixed once the goal exists (its contributions are in it).
    """

    name: Name | None = None
    category: GoalCategory | None = None
    priority: Priority | None = None
    status: GoalStatus | None = None
    target_amount: Amount | None = None
    target_date: dt.date | None = None
    notes: Notes | None = None

    _required = field_validator("name", "category", "priority", "status", "target_amount", mode="before")(refuse_null)


class GoalOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("target_amount", "saved_amount")

    id: uuid.UUID
    name: str
    category: GoalCategory
    priority: Priority
    status: GoalStatus
    target_amount: Decimal
    saved_amount: Decimal
    currency: str
    target_date: dt.date | None
    notes: str | None
    achieved_at: dt.datetime | None
    space_id: uuid.UUID | None = Field(description="The shared space it belongs to; null: the personal space")
    created_at: dt.datetime
    updated_at: dt.datetime


class GoalQuery(PageParams):
    status: GoalStatus | None = None
    category: GoalCategory | None = None


class Progress(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("target_amount", "saved_amount", "remaining", "required_monthly")

    goal_id: uuid.UUID
    target_amount: Decimal
    saved_amount: Decimal
    remaining: Decimal
    currency: str
    percentage: Decimal = Field(description="Saved / target x 100, two decimals, rounded down")
    target_date: dt.date | None
    required_monthly: Decimal | None = Field(description="Monthly saving that reaches the target on its date")
    average_daily_saving: Decimal = Field(description="Net saved per day since the first contribution")
    projected_completion_date: dt.date | None = Field(description="At the pace of the history; null: not saving")
    on_track: bool | None = Field(description="Projected by the target date (null: no target date)")
    achieved: bool
    milestones_reached: list[int]
    contributions: int
    as_of: dt.date


# --- contributions ---------------------------------------------------------------------------------


class EntryCreate(Body):
    amount: Amount
    currency: Currency | None = Field(default=None, description="Must be the goal's currency when given")
    date: dt.date | None = Field(default=None, description="Defaults to today")
    note: Note | None = None


class EntryOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("amount", "saved_amount")

    id: uuid.UUID
    goal_id: uuid.UUID
    kind: EntryKind
    amount: Decimal
    currency: str
    date: dt.date
    source: EntrySource
    rule_id: uuid.UUID | None
    source_ref: str | None
    note: str | None
    created_at: dt.datetime
    contributed_by: uuid.UUID = Field(description="Whose move it was (in a space goal, any member's)")
    saved_amount: Decimal | None = Field(default=None, description="The goal's total right after this entry")


# --- auto-save rules -------------------------------------------------------------------------------


class RuleCreate(Body):
    """round_up: `round_up_unit`; income_percent: `percent`; scheduled: `amount`, `frequency`, `start_date`."""

    goal_id: uuid.UUID
    name: Name
    kind: RuleKind
    active: StrictBool = True
    round_up_unit: RoundUpUnit | None = None
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)] | None = None
    amount: Amount | None = None
    frequency: ScheduleFrequency | None = None
    start_date: dt.date | None = Field(default=None, description="First scheduled run")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> "RuleCreate":
        needed = {
            RuleKind.ROUND_UP: ("round_up_unit",),
            RuleKind.INCOME_PERCENT: ("percent",),
            RuleKind.SCHEDULED: ("amount", "frequency", "start_date"),
        }
        for kind, fields in needed.items():
            for name in fields:
                present = getattr(self, name) is not None
                if kind == self.kind and not present:
                    raise ValueError(f"{name} is required for a {kind.value} rule")
                if kind != self.kind and present:
                    raise ValueError(f"{name} does not apply to a {self.kind.value} rule")
        return self


class RuleUpdate(Body):
    """Partial update of what a rule does; its kind and goal stay."""

    name: Name | None = None
    active: StrictBool | None = None
    round_up_unit: RoundUpUnit | None = None
    percent: Annotated[Decimal, Field(gt=0, le=100, max_digits=7, decimal_places=4)] | None = None
    amount: Amount | None = None
    frequency: ScheduleFrequency | None = None

    _required = field_validator("name", "active", "round_up_unit", "percent", "amount", "frequency", mode="before")(
        refuse_null
    )


class RuleOut(BaseModel):
    id: uuid.UUID
    goal_id: uuid.UUID
    name: str
    kind: RuleKind
    active: bool
    round_up_unit: Decimal | None
    percent: Decimal | None
    amount: Decimal | None
    currency: str
    frequency: str | None
    start_date: dt.date | None
    next_run_on: dt.date | None
    last_run_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


# --- recommendations -------------------------------------------------------------------------------


class FundOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("monthly_expenses", "minimum", "recommended", "saved", "shortfall")

    currency: str
    monthly_expenses: Decimal
    minimum: Decimal
    recommended: Decimal
    saved: Decimal = Field(description="Saved in the user's active emergency-fund goals in this currency")
    shortfall: Decimal
    months_covered: Decimal | None


class EmergencyFundOut(BaseModel):
    period_start: dt.date | None
    period_end: dt.date | None
    months_analyzed: int
    minimum_months: int
    recommended_months: int
    by_currency: list[FundOut] = Field(description="Per currency of spending; amounts are not converted")
