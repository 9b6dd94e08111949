"""Request and response models: the public contract of the group service.

Requests refuse unknown fields (422 naming the field). Money is `Decimal` in and out (a JSON string
out, never a float); currencies are active ISO 4217 codes.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from pfms_finance.currency import normalise_currency
from pfms_finance.recurrence import Frequency
from pfms_group.models import GroupType, Role
from pfms_group.splits import SplitType
from pfms_platform.envelope import Pagination

Currency = Annotated[str, AfterValidator(normalise_currency)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=4)]
Share = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=4)]
Text200 = Annotated[str, Field(min_length=1, max_length=200)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GroupCreate(Request):
    name: Text200
    description: str | None = Field(default=None, max_length=2000)
    group_type: GroupType = GroupType.GENERAL
    currency: Currency
    simplify_debts: bool = True
    chat_enabled: bool = True
    display_name: str | None = Field(default=None, max_length=100, description="The creator's name in the group")


class GroupUpdate(Request):
    name: Text200 | None = None
    description: str | None = Field(default=None, max_length=2000)
    group_type: GroupType | None = None
    simplify_debts: bool | None = None
    chat_enabled: bool | None = None
    is_active: bool | None = None


class Group(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    group_type: str
    currency: str
    created_by: uuid.UUID
    is_active: bool
    simplify_debts: bool
    chat_enabled: bool
    role: str | None = Field(default=None, description="The caller's role")
    created_at: datetime


def _email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value):
        raise ValueError("must be an email address")
    return value


class Invite(Request):
    """By user id, or by email (resolved through the user service)."""

    user_id: uuid.UUID | None = None
    email: Annotated[str, Field(max_length=320), AfterValidator(_email)] | None = None
    role: Role = Role.MEMBER
    display_name: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_target(self) -> "Invite":
        if (self.user_id is None) == (self.email is None):
            raise ValueError("give exactly one of user_id or email")
        return self


class MemberUpdate(Request):
    role: Role | None = None
    display_name: str | None = Field(default=None, max_length=100)


class Member(BaseModel):
    user_id: uuid.UUID
    role: str
    status: str
    display_name: str | None
    invited_by: uuid.UUID | None
    joined_at: datetime | None


class Invitation(BaseModel):
    group_id: uuid.UUID
    group_name: str
    role: str
    invited_by: uuid.UUID | None
    invited_at: datetime


class ParticipantIn(Request):
    user_id: uuid.UUID
    amount: Share | None = Field(default=None, description="unequal, custom: the exact share")
    percentage: Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)] | None = None
    weight: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)] | None = None


class PayerIn(Request):
    user_id: uuid.UUID
    amount: Amount


def _once_each(people: list[Any] | None) -> list[Any] | None:
    if people is not None and len({p.user_id for p in people}) != len(people):
        raise ValueError("each member may appear once")
    return people


class ExpenseCreate(Request):
    description: Annotated[str, Field(min_length=1, max_length=500)]
    amount: Amount
    currency: Currency | None = Field(default=None, description="Defaults to the group's currency")
    category: str | None = Field(default=None, max_length=100)
    expense_date: date
    split_type: SplitType = SplitType.EQUAL
    participants: list[ParticipantIn] = Field(
        default_factory=list, description="Who shares it; empty means every active member, equally"
    )
    payers: list[PayerIn] = Field(default_factory=list, description="Who paid what; empty means the caller paid all")

    _distinct = field_validator("participants", "payers")(_once_each)


class ExpenseUpdate(Request):
    """Only the fields given change; participants and payers left out are carried over from the expense."""

    description: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    amount: Amount | None = None
    currency: Currency | None = None
    category: str | None = Field(default=None, max_length=100)
    expense_date: date | None = None
    split_type: SplitType | None = None
    participants: list[ParticipantIn] | None = Field(default=None, min_length=1)
    payers: list[PayerIn] | None = Field(default=None, min_length=1)

    _distinct = field_validator("participants", "payers")(_once_each)


class MemberAmount(BaseModel):
    user_id: uuid.UUID
    amount: Decimal


class Expense(BaseModel):
    id: uuid.UUID
    group_id: uuid.UUID
    kind: str
    description: str
    category: str | None
    expense_date: date
    amount: Decimal
    currency: str
    fx_rate: Decimal
    fx_source: str | None
    group_amount: Decimal
    group_currency: str
    split_type: str
    shares: list[MemberAmount]
    payers: list[MemberAmount]
    created_by: uuid.UUID
    recurring_id: uuid.UUID | None
    created_at: datetime


class RecurringCreate(Request):
    description: Annotated[str, Field(min_length=1, max_length=500)]
    amount: Amount
    currency: Currency | None = None
    category: str | None = Field(default=None, max_length=100)
    split_type: SplitType = SplitType.EQUAL
    participants: list[ParticipantIn] = Field(default_factory=list)
    payers: list[PayerIn] = Field(default_factory=list)
    frequency: Frequency
    start_date: date
    end_date: date | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> "RecurringCreate":
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self

    _distinct = field_validator("participants", "payers")(_once_each)


class Recurring(BaseModel):
    id: uuid.UUID
    group_id: uuid.UUID
    description: str
    category: str | None
    amount: Decimal
    currency: str
    split_type: str
    participants: list[dict[str, Any]]
    payers: list[dict[str, Any]]
    frequency: str
    start_date: date
    end_date: date | None
    next_date: date | None
    active: bool
    created_by: uuid.UUID


class MemberBalance(BaseModel):
    user_id: uuid.UUID
    display_name: str | None
    status: str
    paid: Decimal = Field(description="Paid towards expenses")
    share: Decimal = Field(description="Owed share of expenses")
    settled_out: Decimal = Field(description="Confirmed payments made to members")
    settled_in: Decimal = Field(description="Confirmed payments received from members")
    net: Decimal = Field(description="Positive: is owed; negative: owes")


class Debt(BaseModel):
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    amount: Decimal


class Balances(BaseModel):
    group_id: uuid.UUID
    currency: str
    simplified: bool
    members: list[MemberBalance]
    debts: list[Debt]
    debts_page: Pagination | None = Field(
        default=None, description="Pairwise debts (simplification off) come a page at a time: `page`, `limit` <= 100"
    )


class SettleCreate(Request):
    to_user_id: uuid.UUID
    amount: Amount
    from_user_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the caller; admins may record others'"
    )
    currency: Currency | None = Field(default=None, description="Must be the group's currency if given")
    settlement_date: date | None = None
    notes: str | None = Field(default=None, max_length=1000)


class SettlementOut(BaseModel):
    id: uuid.UUID
    group_id: uuid.UUID
    from_user_id: uuid.UUID
    to_user_id: uuid.UUID
    amount: Decimal
    currency: str
    status: str
    settlement_date: date
    notes: str | None
    recorded_by: uuid.UUID
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime


class WriteOff(Request):
    user_id: uuid.UUID
    notes: str | None = Field(default=None, max_length=1000)


class MessageCreate(Request):
    content: Annotated[str, Field(min_length=1, max_length=4000)]


class Message(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    message_type: str
    content: str
    metadata: dict[str, Any]
    created_at: datetime


class ActivityOut(BaseModel):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    subject_id: uuid.UUID | None
    details: dict[str, Any]
    created_at: datetime
