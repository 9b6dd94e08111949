"""Request and response models of the tax API (money as decimal strings, never floats)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from pfms_platform.schemas import Body, Currency, Priced, refuse_null
from pfms_tax.domain import DeductionStatus, FilingStatus

Year = Annotated[int, Field(ge=2000, le=2100)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=2)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

# requests


class ProfileIn(Body):
    country_code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=2)]
    region: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, max_length=100)] | None = None
    filing_status: FilingStatus
    dependents: int = Field(default=0, ge=0, le=30)


class DeductionIn(Body):
    tax_year: Year
    category: Name
    amount: Amount
    currency: Currency
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    deduction_date: date | None = None
    document_reference: Annotated[str, StringConstraints(max_length=500)] | None = None
    status: DeductionStatus = DeductionStatus.CLAIMED


class DeductionUpdate(Body):
    tax_year: Year | None = None
    category: Name | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    description: Annotated[str, StringConstraints(max_length=2000)] | None = None
    deduction_date: date | None = None
    document_reference: Annotated[str, StringConstraints(max_length=500)] | None = None
    status: DeductionStatus | None = None

    _required = field_validator("tax_year", "category", "amount", "currency", "status", mode="before")(refuse_null)


class DeductibleCategoryIn(Body):
    """Name an expense category by id or by name (one of them) and the deduction category it feeds."""

    category_id: uuid.UUID | None = None
    category_name: Name | None = None
    deduction_category: Name


# responses


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Profile(Orm):
    tax_year: int
    country_code: str
    region: str | None
    filing_status: str
    dependents: int
    currency: str
    regime: str
    created_at: datetime
    updated_at: datetime


class Deduction(Priced, Orm):
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    id: uuid.UUID
    tax_year: int
    category: str
    amount: Decimal
    currency: str
    description: str | None
    deduction_date: date | None
    document_reference: str | None
    status: str
    expense_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class DeductibleCategory(Orm):
    id: uuid.UUID
    category_id: uuid.UUID | None
    category_name: str | None
    deduction_category: str
    created_at: datetime


class Suggestion(Priced, Orm):
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)
    id: uuid.UUID
    expense_id: uuid.UUID
    deduction_category: str
    amount: Decimal
    currency: str
    expense_date: date
    description: str
    status: str
    deduction_id: uuid.UUID | None


class BracketOut(BaseModel):
    lower: Decimal
    upper: Decimal | None
    rate: Decimal


class ScheduleOut(BaseModel):
    filing_status: str
    income: list[BracketOut]
    capital_gains_short: list[BracketOut]
    capital_gains_long: list[BracketOut]
    standard_deduction: Decimal
    capital_loss_limit: Decimal
    credit_phase_out_start: Decimal | None
    deduction_caps: dict[str, Decimal]


class CreditOut(BaseModel):
    name: str
    per_dependent: Decimal
    phase_out_step: Decimal
    phase_out_per_step: Decimal


class RegimeOut(BaseModel):
    country: str
    tax_year: int
    version: str
    name: str
    currency: str
    period_start: date
    period_end: date
    regions: list[str]
    sources: dict[str, str]
    gains_exempt_amount: Decimal
    long_term_after_months: int
    deduction_categories: dict[str, str]
    credits: list[CreditOut]
    filing_statuses: list[ScheduleOut]


class RegimeSummary(BaseModel):
    country: str
    tax_year: int
    version: str
    name: str
    currency: str
    filing_statuses: list[str]


class Line(Orm):
    kind: str = Field(description="income | capital_gains")
    rate: Decimal
    lower: Decimal
    upper: Decimal | None
    taxed: Decimal = Field(description="The part of the taxable amount that falls in this bracket")
    tax: Decimal = Field(description="taxed x rate, rounded half-even to the minor unit")


class CreditLine(Orm):
    name: str
    dependents: int
    base: Decimal
    phase_out: Decimal
    amount: Decimal
    allowed: Decimal = Field(description="Limited to the tax left (non-refundable)")


class CategoryTotal(Orm):
    category: str
    kind: str = Field(description="above_the_line | itemized | not_applicable (not a category of this regime)")
    claimed: Decimal
    allowed: Decimal


class RegimeRef(BaseModel):
    name: str
    version: str
    period_start: date
    period_end: date
    sources: dict[str, str]


class Conversion(BaseModel):
    currency: str
    date: date
    rate: Decimal


class CalculationOut(Orm):
    tax_year: int
    country: str
    region: str | None
    filing_status: str
    dependents: int
    currency: str
    regime: RegimeRef
    gross_income: Decimal
    income_by_source: dict[str, Decimal]
    income_rows: int
    tax_withheld: Decimal
    short_term_gains: Decimal
    long_term_gains: Decimal
    gain_rows: int
    gains_in_ordinary_income: Decimal
    gains_at_capital_gains_rates: Decimal
    gains_exempt_amount: Decimal
    capital_loss_deducted: Decimal
    capital_loss_carryover: Decimal
    total_income: Decimal
    above_the_line_deductions: Decimal
    adjusted_gross_income: Decimal
    standard_deduction: Decimal
    itemized_deductions: Decimal
    deduction_applied: str
    total_deductions: Decimal
    deductions_by_category: list[CategoryTotal]
    taxable_income: Decimal
    ordinary_taxable_income: Decimal
    capital_gains_taxable: Decimal
    brackets: list[Line]
    income_tax: Decimal
    capital_gains_tax: Decimal
    tax_before_credits: Decimal
    credits: list[CreditLine]
    total_credits: Decimal
    tax_owed: Decimal
    balance_due: Decimal = Field(description="tax_owed - tax_withheld (negative: a refund)")
    effective_rate: Decimal = Field(description="tax_owed / total_income")
    marginal_rate: Decimal = Field(description="Statutory rate on the next unit of ordinary income")
    capital_gains_marginal_rate: Decimal
    conversions: list[Conversion]
    notes: list[str]
    calculated_at: datetime
    cached: bool


class ReportJob(BaseModel):
    """The report service's job, as it answered (poll it with GET /api/v1/reports/{id})."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    type: str
    format: str
    status: str
