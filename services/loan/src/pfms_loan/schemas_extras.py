"""Request and response models of reminders, activities, templates and disputes."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator, model_validator

from pfms_loan.amortisation import EmiFrequency, InterestType
from pfms_loan.domain import DisputeStatus, LoanType, Priority, ReminderType
from pfms_loan.schemas_common import Amount, Body, Currency, JsonList, Label, Name, Percent, Priced, Text, refuse_null
from pfms_platform.envelope import PageParams


class Reminder(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("amount",)

    id: uuid.UUID
    loan_id: uuid.UUID
    emi_schedule_id: uuid.UUID
    reminder_type: ReminderType
    reminder_date: dt.date
    due_date: dt.date
    amount: Decimal
    currency: str
    notification_sent: bool
    notification_sent_at: dt.datetime | None
    is_acknowledged: bool
    acknowledged_at: dt.datetime | None
    is_snoozed: bool
    snooze_until: dt.date | None
    created_at: dt.datetime


class ReminderFilters(PageParams):
    pending: bool | None = Field(default=None, description="true: not acknowledged yet")


class Snooze(Body):
    until: dt.date = Field(description="Remind again on this day (after today)")


class Activity(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    activity_type: str
    activity_description: str
    payment_id: uuid.UUID | None
    emi_schedule_id: uuid.UUID | None
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    created_at: dt.datetime


class TemplateCreate(Body):
    template_name: Name
    description: Text | None = None
    type: LoanType
    default_amount: Amount | None = None
    currency: Currency | None = None
    interest_rate: Percent | None = None
    interest_type: InterestType | None = None
    emi_frequency: EmiFrequency | None = None
    total_installments: int | None = Field(default=None, ge=1, le=1200)
    category: Label | None = None

    @model_validator(mode="after")
    def _rate(self) -> "TemplateCreate":
        if self.interest_type is InterestType.NONE and self.interest_rate:
            raise ValueError("interest_rate needs interest_type simple or compound")
        return self


class TemplateUpdate(TemplateCreate):
    template_name: Name | None = None
    type: LoanType | None = None

    _required = field_validator("template_name", "type", mode="before")(refuse_null)


class Template(BaseModel):
    id: uuid.UUID
    template_name: str
    description: str | None
    type: LoanType
    default_amount: Decimal | None
    currency: str | None
    interest_rate: Decimal | None
    interest_type: InterestType | None
    emi_frequency: EmiFrequency | None
    total_installments: int | None
    category: str | None
    usage_count: int
    last_used_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class DisputeCreate(Body):
    dispute_type: Label = Field(description="amount, payment_not_recorded, interest, terms, other, ...")
    description: Text = Field(min_length=1)
    expected_resolution: Text | None = None
    priority: Priority = Priority.MEDIUM
    attachments: JsonList = Field(default_factory=list)


class DisputeResponse(Body):
    message: Text = Field(min_length=1)


class DisputeResolve(Body):
    resolution: Text = Field(min_length=1)


class Dispute(BaseModel):
    id: uuid.UUID
    loan_id: uuid.UUID
    raised_by: uuid.UUID
    dispute_type: str
    description: str
    expected_resolution: str | None
    status: DisputeStatus
    priority: Priority
    responses: list[dict[str, Any]]
    resolution: str | None
    resolved_by: uuid.UUID | None
    resolved_at: dt.datetime | None
    attachments: list[Any]
    created_at: dt.datetime
    updated_at: dt.datetime
