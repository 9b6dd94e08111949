"""Events of the group service: shared expenses and completed settlements."""

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from pfms_contracts.base import EventData


class MemberAmount(BaseModel):
    user_id: UUID
    amount: Decimal = Field(description="In the group's currency.")


class GroupExpenseCreated(EventData):
    type: ClassVar[str] = "group.expense.created"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = (
        "A shared expense was added to a group (by a member or by a recurring schedule); `user_id` is who added it."
    )

    group_id: UUID
    expense_id: UUID
    description: str
    category: str | None = None
    expense_date: date
    amount: Decimal = Field(description="As entered, in `currency`.")
    currency: str = Field(min_length=3, max_length=3)
    group_currency: str = Field(min_length=3, max_length=3)
    fx_rate: Decimal = Field(description="Units of `group_currency` per unit of `currency` on `expense_date`.")
    group_amount: Decimal = Field(description="`amount` converted; `shares` and `payers` each add up to it.")
    split_type: str = Field(description="equal | unequal | percentage | weight | custom")
    shares: list[MemberAmount]
    payers: list[MemberAmount]
    recurring_id: UUID | None = None


class GroupSettlementCompleted(EventData):
    type: ClassVar[str] = "group.settlement.completed"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = "The receiver confirmed a payment between two members; `user_id` is the payer."

    group_id: UUID
    settlement_id: UUID
    from_user_id: UUID
    to_user_id: UUID
    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)
    settlement_date: date
