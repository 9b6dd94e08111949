"""Request and response models of P2P payments.

The other person is named by email (any PFMS user, through the user service) or by user id when they
are a contact (someone the caller paid, or was paid or asked by, before) — exactly one of the two.
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from pfms_accounts.payment_rules import PaymentStatus
from pfms_accounts.schemas import Amount, Text
from pfms_platform.envelope import PageParams
from pfms_platform.schemas import Body, Currency, Priced

Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class _Counterpart(Body):
    email: Email | None = Field(default=None, description="The other person's PFMS email")
    user_id: uuid.UUID | None = Field(default=None, description="A contact's user id (paid or been paid before)")

    @model_validator(mode="after")
    def _one(self) -> "_Counterpart":
        if (self.email is None) == (self.user_id is None):
            raise ValueError("name the other person by exactly one of email or user_id")
        return self


class PaymentCreate(_Counterpart):
    """Send money from one of the caller's wallet or checking accounts (in that account's currency)."""

    from_account_id: uuid.UUID
    amount: Amount
    note: Text | None = None


class RequestCreate(_Counterpart):
    """Ask the other person (the payer) for money; nothing moves until they pay."""

    amount: Amount
    currency: Currency
    note: Text | None = None


class PayBody(Body):
    from_account_id: uuid.UUID


class AcceptBody(Body):
    account_id: uuid.UUID = Field(description="One of the payee's wallet, checking or savings accounts of the currency")


class PaymentOut(Priced):
    """A payment as one side sees it: both see the same status; each sees only their own account."""

    money_fields: ClassVar[tuple[str, ...]] = ("amount",)

    id: uuid.UUID
    direction: Literal["in", "out"] = Field(description="`out`: the caller pays; `in`: the caller is paid")
    payer_id: uuid.UUID
    payee_id: uuid.UUID
    initiated_by: Literal["payer", "payee"]
    amount: Decimal
    note: str | None
    status: PaymentStatus
    reason: str | None
    account_id: uuid.UUID | None = Field(description="The caller's account it leaves or lands in, once known")
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime
    settled_at: dt.datetime | None


class PaymentQuery(PageParams):
    direction: Literal["in", "out"] | None = Field(default=None, description="Both when absent")
    status: PaymentStatus | None = None


class ContactOut(BaseModel):
    user_id: uuid.UUID
    last_payment_at: dt.datetime
