"""Events of the loan service: loans created, payments, instalments falling due and going overdue.

Each payload carries what a consumer needs without reading the loan database: the direction
(`borrowed`: the user pays out; `lent`: the user receives), amounts as decimal strings and the
ISO 4217 currency.
"""

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData

Direction = Literal["borrowed", "lent"]


class _LoanEvent(EventData):
    exchange: ClassVar[str] = "financial.events"

    loan_id: UUID
    direction: Direction = Field(description="borrowed: the user repays; lent: the user is repaid")
    currency: str = Field(min_length=3, max_length=3)


class LoanCreated(_LoanEvent):
    type: ClassVar[str] = "loan.created"
    summary: ClassVar[str] = "A loan was recorded, with its terms and, for EMI loans, its instalment."

    contact_id: UUID | None = None
    principal_amount: Decimal
    interest_rate: Decimal = Field(description="Percent per year")
    interest_type: str = Field(description="none | simple | compound")
    start_date: date
    emi_enabled: bool
    emi_frequency: str | None = Field(default=None, description="weekly | biweekly | monthly | quarterly")
    emi_amount: Decimal | None = None
    total_installments: int | None = None


class LoanPaymentMade(_LoanEvent):
    type: ClassVar[str] = "loan.payment"
    summary: ClassVar[str] = (
        "A payment on a loan, split into late fee, interest and principal; `remaining_balance` is the principal "
        "still owed after it."
    )

    payment_id: UUID
    amount: Decimal
    principal_paid: Decimal
    interest_paid: Decimal
    late_fee_paid: Decimal
    remaining_balance: Decimal
    payment_date: date
    payment_type: str = Field(description="regular | prepayment")
    loan_status: str = Field(description="The loan's status after the payment (paid at zero)")


class LoanInstalmentDue(_LoanEvent):
    type: ClassVar[str] = "loan.instalment_due"
    summary: ClassVar[str] = (
        "An instalment falls due soon (published once per instalment, ahead of its due date): a cash-flow "
        "projection books it as an outflow (borrowed) or inflow (lent)."
    )

    instalment_id: UUID
    installment_number: int
    due_date: date
    amount: Decimal = Field(description="What is still owed on the instalment (0: dropped or settled, project nothing)")


class LoanOverdue(_LoanEvent):
    type: ClassVar[str] = "loan.overdue"
    summary: ClassVar[str] = (
        "An instalment passed its due date and grace period unpaid (once per instalment), or a loan without a "
        "schedule is still owed past its end date (no instalment)."
    )

    instalment_id: UUID | None = None
    installment_number: int | None = None
    due_date: date
    outstanding: Decimal = Field(description="Owed on the instalment (late fee included), or the principal owed")
    late_fee: Decimal = Field(description="Late fee charged on it (0 when none)")
    days_overdue: int
