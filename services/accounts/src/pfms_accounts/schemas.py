"""Request and response models of accounts, postings, transfers, exchanges, reconciliation and net worth.

Money travels as decimal strings (numbers are accepted on input) in the account's ISO 4217 currency,
never with more decimals than the currency has (checked against the account); responses show exactly
the currency's minor unit. Unknown fields are refused (422 naming the field).
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, StringConstraints, field_validator

from pfms_accounts.domain import USER_TYPES, AccountType
from pfms_platform.schemas import Body, Currency, Priced, refuse_null

Amount = Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=4, description='Decimal string, e.g. "150.00"')]
Signed = Annotated[Decimal, Field(max_digits=19, decimal_places=4, description="Decimal string, may be negative")]
Limit = Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=4, description="Wallets only; 0 when unset")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]

UserType = Annotated[AccountType, Field(description="Any type but `external` (the books' counter-accounts)")]


def user_type(value: AccountType) -> AccountType:
    if value not in USER_TYPES:
        raise ValueError("must be one of " + ", ".join(USER_TYPES))
    return value


class AccountCreate(Body):
    name: Name
    type: UserType
    currency: Currency
    institution: Name | None = None
    opening_balance: Signed = Decimal(0)
    overdraft_limit: Limit | None = None
    portfolio_id: uuid.UUID | None = Field(default=None, description="Investment accounts: the portfolio it holds")
    loan_id: uuid.UUID | None = Field(default=None, description="Loan accounts: the loan it tracks")

    _type = field_validator("type")(user_type)


class AccountUpdate(Body):
    """Partial update; type, currency and opening balance are fixed once the account exists (its postings are
    in them). `archived: false` brings an archived account back."""

    name: Name | None = None
    institution: Name | None = None
    archived: bool | None = None
    overdraft_limit: Limit | None = None
    portfolio_id: uuid.UUID | None = None
    loan_id: uuid.UUID | None = None

    _required = field_validator("name", "archived", mode="before")(refuse_null)


class AccountOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("opening_balance", "balance", "overdraft_limit")

    id: uuid.UUID
    name: str
    type: AccountType
    currency: str
    institution: str | None
    opening_balance: Decimal
    balance: Decimal = Field(description="Running sum of the account's postings")
    overdraft_limit: Decimal | None
    portfolio_id: uuid.UUID | None
    loan_id: uuid.UUID | None
    space_id: uuid.UUID | None = Field(default=None, description="The shared space it belongs to (null: personal)")
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class PostingOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("amount", "balance_after")

    seq: int
    entry_id: uuid.UUID
    kind: str
    description: str | None
    amount: Decimal = Field(description="Positive when the account gained value")
    currency: str
    balance_after: Decimal
    created_at: dt.datetime


class TransferCreate(Body):
    from_account_id: uuid.UUID
    to_account_id: uuid.UUID
    amount: Amount
    description: Text | None = None


class LegOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("amount", "balance_after")

    account_id: uuid.UUID
    amount: Decimal
    currency: str
    balance_after: Decimal


class EntryOut(BaseModel):
    """A booked movement; `legs` shows the caller's own accounts (not the books' counter-accounts)."""

    id: uuid.UUID
    kind: str
    description: str | None
    rate: Decimal | None = None
    fee: Decimal | None = None
    created_at: dt.datetime
    legs: list[LegOut]


class QuoteCreate(Body):
    from_account_id: uuid.UUID
    to_account_id: uuid.UUID
    amount: Amount = Field(description="What to sell, in the `from` account's currency (fee included)")


class QuoteOut(BaseModel):
    id: uuid.UUID
    from_account_id: uuid.UUID
    to_account_id: uuid.UUID
    sell_amount: Decimal
    sell_currency: str
    fee: Decimal
    rate: Decimal = Field(description="Units of the bought currency per unit of the sold one (market-data)")
    buy_amount: Decimal
    buy_currency: str
    expires_at: dt.datetime


class ExchangeCreate(Body):
    quote_id: uuid.UUID


class ReconcileCreate(Body):
    balance: Signed = Field(description="The real balance (statement, app, valuation) in the account's currency")
    note: Text | None = None


class Reconciliation(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("book_balance", "stated_balance", "difference")

    account_id: uuid.UUID
    book_balance: Decimal
    stated_balance: Decimal
    difference: Decimal = Field(description="stated minus book: what an adjustment books")
    entry_id: uuid.UUID | None = Field(default=None, description="The adjustment, once booked")


class NetWorthPoint(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("assets", "liabilities", "net_worth")

    date: dt.date
    assets: Decimal
    liabilities: Decimal
    net_worth: Decimal


class NetWorthOut(Priced):
    money_fields: ClassVar[tuple[str, ...]] = ("assets", "liabilities", "net_worth")

    assets: Decimal
    liabilities: Decimal
    net_worth: Decimal
    history: list[NetWorthPoint] = Field(description="End of each day (UTC), oldest first")


class NetWorthQuery(BaseModel):
    currency: Currency | None = Field(default=None, description="Defaults to the profile currency")
    from_: dt.date | None = Field(default=None, alias="from", description="Default: 30 days before `to`")
    to: dt.date | None = Field(default=None, description="Default: today (UTC)")
