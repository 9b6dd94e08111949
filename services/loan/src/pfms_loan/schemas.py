"""Request and response models of loans, their schedules and payments (the seed's CHECK rules, as 422s)."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator

from pfms_loan.amortisation import Compounding, EmiFrequency, InterestType, Method, PrepaymentMode
from pfms_loan.domain import InstalmentStatus, LoanStatus, LoanType, PaymentType, Priority, Role
from pfms_loan.overdue import LateFeeType
from pfms_loan.schemas_common import (
    Amount,
    Body,
    Currency,
    JsonList,
    Label,
    Metadata,
    Percent,
    Priced,
    Text,
    refuse_null,
)
from pfms_platform.envelope import PageParams
from pfms_platform.errors import Invalid

Instalments = Annotated[int, Field(ge=1, le=1200, description="Number of instalments (at most 1,200)")]


class _LoanSettings(Body):
    """What may change after creation: descriptive fields, reminders and penalties."""

    reason: Text | None = None
    category: Label | None = None
    priority: Priority = Priority.MEDIUM
    attachments: JsonList = Field(default_factory=list)
    has_written_agreement: bool = False
    agreement_url: Text | None = None
    witness_info: Metadata | None = None
    reminder_enabled: bool = True
    reminder_days_before: int = Field(default=3, ge=0, le=60)
    auto_deduct: bool = False
    late_fee_enabled: bool = False
    late_fee_amount: Amount | None = Field(default=None, description="Fixed amount, or percent of the instalment")
    late_fee_type: LateFeeType | None = None
    grace_period_days: int = Field(default=0, ge=0, le=365)
    prepayment_mode: PrepaymentMode = Field(
        default=PrepaymentMode.REDUCE_TERM, description="After a prepayment: fewer instalments, or smaller ones"
    )
    metadata: Metadata = Field(default_factory=dict)


class LoanCreate(_LoanSettings):
    type: LoanType | None = Field(default=None, description="Required unless the template gives it")
    contact_id: uuid.UUID | None = None
    template_id: uuid.UUID | None = Field(default=None, description="Fills type, rate and frequency not given here")
    principal_amount: Amount | None = Field(default=None, description="Required unless the template gives it")
    currency: Currency | None = Field(default=None, description="Required unless the template gives it")
    interest_rate: Percent = Decimal(0)
    interest_type: InterestType = InterestType.NONE
    interest_calculation: Compounding = Field(
        default=Compounding.ANNUAL, description="Compounding of compound interest: annual or monthly"
    )
    amortisation: Method = Field(default=Method.REDUCING, description="reducing balance (annuity) or flat rate")
    start_date: dt.date
    end_date: dt.date | None = Field(default=None, description="EMI loans: set from the schedule's last due date")
    emi_enabled: bool = False
    emi_frequency: EmiFrequency | None = None
    emi_day: int | None = Field(default=None, ge=1, le=31, description="Day of month (monthly and quarterly EMIs)")
    total_installments: Instalments | None = None

    def check(self) -> None:
        """The seed's CHECK rules between fields, each refusal naming its field (run after a template fills in)."""
        rules = [
            (self.type is None, "type", "type is required (or a template_id that gives it)"),
            (self.principal_amount is None, "principal_amount", "principal_amount is required (or a template)"),
            (self.currency is None, "currency", "currency is required (or a template that gives it)"),
            (
                self.interest_type is InterestType.NONE and self.interest_rate != 0,
                "interest_type",
                "interest_rate needs interest_type simple or compound",
            ),
            (
                self.interest_type is not InterestType.NONE and self.interest_rate == 0,
                "interest_rate",
                "interest_type simple or compound needs an interest_rate above 0",
            ),
            (
                self.emi_enabled and self.emi_frequency is None,
                "emi_frequency",
                "an EMI loan needs emi_frequency",
            ),
            (
                self.emi_enabled and self.total_installments is None,
                "total_installments",
                "an EMI loan needs total_installments",
            ),
            (
                not self.emi_enabled and bool(self.emi_frequency or self.total_installments or self.emi_day),
                "emi_enabled",
                "emi_frequency, emi_day and total_installments need emi_enabled",
            ),
            (
                self.end_date is not None and self.end_date < self.start_date,
                "end_date",
                "end_date is before start_date",
            ),
        ]
        rules += late_fee_rules(self)
        for broken, field, message in rules:
            if broken:
                raise Invalid(message, field=field)


def late_fee_rules(body: "_LoanSettings") -> list[tuple[bool, str, str]]:
    return [
        (
            body.late_fee_enabled and body.late_fee_amount is None,
            "late_fee_amount",
            "late fees need late_fee_amount",
        ),
        (body.late_fee_enabled and body.late_fee_type is None, "late_fee_type", "late fees need late_fee_type"),
        (
            body.late_fee_type is LateFeeType.PERCENT and (body.late_fee_amount or 0) > 100,
            "late_fee_amount",
            "a percent late fee is at most 100",
        ),
    ]


class LoanUpdate(_LoanSettings):
    """Partial update; `status` moves an open loan to cancelled or defaulted."""

    status: LoanStatus | None = None

    _required = field_validator(
        "priority",
        "attachments",
        "has_written_agreement",
        "reminder_enabled",
        "reminder_days_before",
        "auto_deduct",
        "late_fee_enabled",
        "grace_period_days",
        "prepayment_mode",
        "metadata",
        "status",
        mode="before",
    )(refuse_null)


class Loan(Priced):
    money_fields: ClassVar[tuple[str, ...]] = (
        "principal_amount",
        "emi_amount",
        "remaining_balance",
        "total_paid",
        "total_interest_paid",
        "total_late_fee_paid",
        "amount_due",
    )

    id: uuid.UUID
    role: Role = Field(description="owner, or counterparty: the app user the owner's contact is linked to (read-only)")
    type: LoanType = Field(description="From the caller's side: the owner's `lent` is the counterparty's `borrowed`")
    contact_id: uuid.UUID | None = Field(description="The owner's contact; null for the counterparty")
    principal_amount: Decimal
    currency: str
    interest_rate: Decimal
    interest_type: InterestType
    interest_calculation: Compounding
    amortisation: Method
    start_date: dt.date
    end_date: dt.date | None
    actual_end_date: dt.date | None
    emi_enabled: bool
    emi_frequency: EmiFrequency | None
    emi_amount: Decimal | None
    emi_day: int | None
    total_installments: int | None
    status: LoanStatus
    remaining_balance: Decimal = Field(description="Principal still owed")
    amount_due: Decimal = Field(description="Everything still owed on the schedule: principal, interest, late fees")
    total_paid: Decimal
    total_interest_paid: Decimal
    total_late_fee_paid: Decimal
    reason: str | None
    category: str | None
    priority: Priority
    attachments: list[Any]
    has_written_agreement: bool
    agreement_url: str | None
    witness_info: dict[str, Any] | None
    reminder_enabled: bool
    reminder_days_before: int
    auto_deduct: bool
    late_fee_enabled: bool
    late_fee_amount: Decimal | None
    late_fee_type: LateFeeType | None
    grace_period_days: int
    prepayment_mode: PrepaymentMode
    metadata: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class LoanFilters(PageParams):
    role: Role | None = Field(default=None, description="owner: loans you recorded; counterparty: recorded about you")
    status: LoanStatus | None = None
    type: LoanType | None = Field(default=None, description="From your side: a counterparty's borrowed is lent")
    contact_id: uuid.UUID | None = Field(default=None, description="One of your contacts (your own loans only)")


class ScheduleRow(Priced):
    money_fields: ClassVar[tuple[str, ...]] = (
        "principal_amount",
        "interest_amount",
        "late_fee",
        "total_amount",
        "paid_amount",
        "outstanding_amount",
        "balance_after",
    )

    id: uuid.UUID
    installment_number: int
    due_date: dt.date
    principal_amount: Decimal
    interest_amount: Decimal
    late_fee: Decimal
    total_amount: Decimal = Field(description="Principal + interest (the late fee comes on top)")
    balance_after: Decimal = Field(description="Principal owed once this instalment is paid")
    status: InstalmentStatus
    paid_amount: Decimal
    outstanding_amount: Decimal
    paid_date: dt.date | None
    days_overdue: int
    overdue_since: dt.date | None


class Schedule(Priced):
    money_fields: ClassVar[tuple[str, ...]] = (
        "total_principal",
        "prepaid_principal",
        "total_interest",
        "total_late_fees",
    )

    loan_id: uuid.UUID
    currency: str
    total_principal: Decimal = Field(description="Principal repaid through the instalments")
    prepaid_principal: Decimal = Field(description="Principal prepaid outside them; the two sum to the loan")
    total_interest: Decimal
    total_late_fees: Decimal
    instalments: list[ScheduleRow]


class PaymentCreate(Body):
    amount: Amount
    currency: Currency | None = Field(default=None, description="Must be the loan's currency (default)")
    payment_date: dt.date
    payment_type: PaymentType = PaymentType.REGULAR
    prepayment_mode: PrepaymentMode | None = Field(default=None, description="Overrides the loan's for this payment")
    payment_method: Label | None = None
    payment_reference: Annotated[str, Field(max_length=100)] | None = None
    notes: Text | None = None
    receipt_url: Text | None = None


class AllocationPart(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("late_fee", "interest", "principal")

    installment_number: int | None = Field(description="None: principal prepaid beyond the schedule")
    late_fee: Decimal
    interest: Decimal
    principal: Decimal


class Payment(Priced):
    money_fields: ClassVar[tuple[str, ...]] = (
        "amount",
        "principal_paid",
        "interest_paid",
        "late_fee_paid",
        "remaining_balance",
    )

    id: uuid.UUID
    loan_id: uuid.UUID
    amount: Decimal
    currency: str
    payment_date: dt.date
    payment_type: PaymentType
    principal_paid: Decimal
    interest_paid: Decimal
    late_fee_paid: Decimal
    remaining_balance: Decimal
    allocation: list[AllocationPart]
    payment_method: str | None
    payment_reference: str | None
    notes: str | None
    receipt_url: str | None
    created_at: dt.datetime
