"""Events of the group service: shared expenses (added, edited, deleted), write-offs and completed settlements."""

from datetime import date
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, Field

from pfms_contracts.base import EventData


class MemberAmount(BaseModel):
    user_id: UUID
    amount: Decimal = Field(description="In the group's currency.")


class _GroupExpense(EventData):
    """A shared expense as it stands: what `created` and `updated` both carry."""

    exchange: ClassVar[str] = "financial.events"

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


class GroupExpenseCreated(_GroupExpense):
    type: ClassVar[str] = "group.expense.created"
    summary: ClassVar[str] = (
        "A shared expense was added to a group (by a member or by a recurring schedule); `user_id` is who added it."
    )


class GroupExpenseUpdated(_GroupExpense):
    type: ClassVar[str] = "group.expense.updated"
    summary: ClassVar[str] = (
        "A member edited a shared expense; the payload is the expense as it now stands (shares and payers "
        "replace the earlier ones). `user_id` is who edited it."
    )


class GroupExpenseDeleted(EventData):
    type: ClassVar[str] = "group.expense.deleted"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = (
        "A member deleted a shared expense; it no longer counts in balances. `user_id` is who deleted it; "
        "shares and payers are the ones removed."
    )

    group_id: UUID
    expense_id: UUID
    description: str
    expense_date: date
    group_currency: str = Field(min_length=3, max_length=3)
    group_amount: Decimal
    shares: list[MemberAmount]
    payers: list[MemberAmount]
    recurring_id: UUID | None = None


class AbsorbedAmount(BaseModel):
    member_id: UUID
    amount: Decimal = Field(description="The part of the written-off balance this member takes on.")


class GroupBalanceWrittenOff(EventData):
    type: ClassVar[str] = "group.balance.written_off"
    exchange: ClassVar[str] = "financial.events"
    summary: ClassVar[str] = (
        "An admin wrote a member's balance off; the other active members absorb it equally. `user_id` is the admin."
    )

    group_id: UUID
    member_id: UUID
    amount: Decimal = Field(description="The balance written off (positive), in `currency`.")
    currency: str = Field(min_length=3, max_length=3)
    direction: str = Field(
        description="`debt`: the member owed it and the others now owe it; `credit`: the member was owed it "
        "and the others no longer owe it."
    )
    absorbed_by: list[AbsorbedAmount] = Field(description="Adds up to `amount`.")


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
