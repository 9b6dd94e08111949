"""Events of the accounts service: accounts opened and archived, money moved between them."""

from datetime import date
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData


class _AccountsEvent(EventData):
    exchange: ClassVar[str] = "financial.events"


class AccountOpened(_AccountsEvent):
    type: ClassVar[str] = "account.opened"
    summary: ClassVar[str] = "A user opened an account (checking, wallet, credit card, …) with its opening balance."
    account_id: UUID
    name: str
    account_type: str
    currency: str = Field(min_length=3, max_length=3)
    opening_balance: Decimal


class AccountArchived(_AccountsEvent):
    type: ClassVar[str] = "account.archived"
    summary: ClassVar[str] = "An account with postings was closed: kept for its history, no longer moves money."
    account_id: UUID
    balance: Decimal
    currency: str = Field(min_length=3, max_length=3)


class TransferCompleted(_AccountsEvent):
    type: ClassVar[str] = "account.transfer_completed"
    summary: ClassVar[str] = "Money moved between two of the user's own accounts in one currency."
    entry_id: UUID
    from_account_id: UUID
    to_account_id: UUID
    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)


class ExchangeCompleted(_AccountsEvent):
    type: ClassVar[str] = "account.exchange_completed"
    summary: ClassVar[str] = "A quoted currency exchange between two of the user's accounts was executed."
    entry_id: UUID
    from_account_id: UUID
    to_account_id: UUID
    sell_amount: Decimal
    sell_currency: str = Field(min_length=3, max_length=3)
    buy_amount: Decimal
    buy_currency: str = Field(min_length=3, max_length=3)
    rate: Decimal
    fee: Decimal


class BalanceAdjusted(_AccountsEvent):
    type: ClassVar[str] = "account.balance_adjusted"
    summary: ClassVar[str] = "Reconciliation: the user stated a real balance and the difference was booked."
    entry_id: UUID
    account_id: UUID
    difference: Decimal
    balance: Decimal
    currency: str = Field(min_length=3, max_length=3)


class TransactionImported(_AccountsEvent):
    type: ClassVar[str] = "account.transaction_imported"
    summary: ClassVar[str] = (
        "A movement from outside PFMS reached one of the user's accounts (a bank connection's sync, a virtual "
        "card's authorised spend): the expense service records debits, the income service credits."
    )
    transaction_id: UUID = Field(description="The accounts service's id of the movement.")
    account_id: UUID
    source: Literal["card", "plaid", "belvo"]
    external_id: str = Field(min_length=1, max_length=200, description="The provider's id; unique per source.")
    direction: Literal["debit", "credit"]
    amount: Decimal = Field(gt=0, description="Positive; `direction` says which way it moved.")
    currency: str = Field(min_length=3, max_length=3)
    description: str = Field(max_length=500)
    merchant: str | None = Field(default=None, max_length=200)
    occurred_on: date
    posted: bool = Field(
        default=False,
        description="Already on the account's ledger (a card spend is booked when authorised); the expense or "
        "income recorded from it must not be posted a second time.",
    )
