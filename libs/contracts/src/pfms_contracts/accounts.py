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
    space_id: UUID | None = Field(default=None, description="The shared space the account belongs to (None: personal).")


class AccountArchived(_AccountsEvent):
    type: ClassVar[str] = "account.archived"
    summary: ClassVar[str] = "An account with postings was closed: kept for its history, no longer moves money."
    account_id: UUID
    balance: Decimal
    currency: str = Field(min_length=3, max_length=3)
    space_id: UUID | None = Field(default=None, description="The shared space the account belongs to (None: personal).")


class TransferCompleted(_AccountsEvent):
    type: ClassVar[str] = "account.transfer_completed"
    summary: ClassVar[str] = "Money moved between two of the user's own accounts in one currency."
    entry_id: UUID
    from_account_id: UUID
    to_account_id: UUID
    amount: Decimal
    currency: str = Field(min_length=3, max_length=3)
    space_id: UUID | None = Field(default=None, description="The shared space the account belongs to (None: personal).")


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
    space_id: UUID | None = Field(default=None, description="The shared space the account belongs to (None: personal).")


class BalanceAdjusted(_AccountsEvent):
    type: ClassVar[str] = "account.balance_adjusted"
    summary: ClassVar[str] = "Reconciliation: the user stated a real balance and the difference was booked."
    entry_id: UUID
    account_id: UUID
    difference: Decimal
    balance: Decimal
    currency: str = Field(min_length=3, max_length=3)
    space_id: UUID | None = Field(default=None, description="The shared space the account belongs to (None: personal).")


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


class TransactionRevised(TransactionImported):
    type: ClassVar[str] = "account.transaction_revised"
    summary: ClassVar[str] = (
        "The provider changed a movement it had already handed on as `account.transaction_imported` (same "
        "`source` and `external_id`): the fields are its new amount, direction, date, description and merchant; "
        "the expense or income recorded from it follows (one the person entered themselves is left alone)."
    )


class TransactionRemoved(_AccountsEvent):
    type: ClassVar[str] = "account.transaction_removed"
    summary: ClassVar[str] = (
        "The provider dropped a movement it had handed on as `account.transaction_imported` (a pending charge "
        "that vanished, a reversal): the expense or income recorded from it goes (one the person entered "
        "themselves is only unlinked)."
    )
    transaction_id: UUID = Field(description="The accounts service's id of the movement.")
    account_id: UUID
    source: Literal["card", "plaid", "belvo"]
    external_id: str = Field(min_length=1, max_length=200, description="The provider's id; unique per source.")


class _PaymentEvent(_AccountsEvent):
    """A step of a P2P payment's saga; `user_id` is the person the step is about (see each summary)."""

    payment_id: UUID
    payer_id: UUID
    payee_id: UUID
    amount: Decimal = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)


class PaymentRequested(_PaymentEvent):
    type: ClassVar[str] = "account.payment_requested"
    summary: ClassVar[str] = "The payee (`user_id`) asked another user, the payer, for a P2P payment; nothing moved."
    note: str | None = Field(default=None, max_length=500)


class PaymentSent(_PaymentEvent):
    type: ClassVar[str] = "account.payment_sent"
    summary: ClassVar[str] = (
        "The payer (`user_id`) sent a P2P payment: the amount left their account into their clearing account "
        "(held) and waits for the payee to accept it (or is accepted at once into the payee's only account of "
        "the currency)."
    )
    payer_account_id: UUID
    entry_id: UUID = Field(description="The hold on the payer's ledger.")
    note: str | None = Field(default=None, max_length=500)


class PaymentAccepted(_PaymentEvent):
    type: ClassVar[str] = "account.payment_accepted"
    summary: ClassVar[str] = "The payee (`user_id`) accepted a P2P payment into one of their accounts; it settles next."
    payee_account_id: UUID


class PaymentReceived(_PaymentEvent):
    type: ClassVar[str] = "account.payment_received"
    summary: ClassVar[str] = (
        "A P2P payment settled: the payee (`user_id`) received the amount into their account and the payer's "
        "hold left the payer's books."
    )
    payee_account_id: UUID
    entry_id: UUID = Field(description="The receipt on the payee's ledger.")


class PaymentDeclined(_PaymentEvent):
    type: ClassVar[str] = "account.payment_declined"
    summary: ClassVar[str] = (
        "A P2P payment was declined by `user_id`: the payer declined a request (nothing moved) or the payee "
        "declined a sent payment (`held`: the payer's hold is refunded next)."
    )
    held: bool = Field(description="Money was held on the payer's side and goes back to them.")


class PaymentCancelled(_PaymentEvent):
    type: ClassVar[str] = "account.payment_cancelled"
    summary: ClassVar[str] = (
        "A P2P payment was cancelled before it was accepted by who started it (`user_id`): the payer a sent "
        "payment (`held`: the hold is refunded next) or the payee their request (nothing moved)."
    )
    held: bool = Field(description="Money was held on the payer's side and goes back to them.")


class PaymentFailed(_PaymentEvent):
    type: ClassVar[str] = "account.payment_failed"
    summary: ClassVar[str] = (
        "A sent P2P payment could not be delivered (expired unaccepted, the payee's account or the payee gone); "
        "`user_id` is the payer, whose hold is refunded next."
    )
    reason: Literal["expired", "account_unavailable", "user_deleted"]


class PaymentRefunded(_PaymentEvent):
    type: ClassVar[str] = "account.payment_refunded"
    summary: ClassVar[str] = (
        "The compensation of a declined, cancelled or failed P2P payment: the payer's (`user_id`) hold went back "
        "to the account it came from."
    )
    payer_account_id: UUID
    entry_id: UUID = Field(description="The reversing entry on the payer's ledger.")
    reason: Literal["declined", "cancelled", "expired", "account_unavailable", "user_deleted"]


class _CardEvent(_AccountsEvent):
    card_id: UUID
    account_id: UUID = Field(description="The wallet the card spends from.")
    last4: str = Field(min_length=4, max_length=4)


class CardIssued(_CardEvent):
    type: ClassVar[str] = "card.issued"
    summary: ClassVar[str] = (
        "A virtual card was issued on one of the user's wallets (only its last four digits travel)."
    )
    issuer: str
    expiry_month: int = Field(ge=1, le=12)
    expiry_year: int


class CardFrozen(_CardEvent):
    type: ClassVar[str] = "card.frozen"
    summary: ClassVar[str] = "A virtual card was frozen: its authorisations are declined until it is unfrozen."


class CardUnfrozen(_CardEvent):
    type: ClassVar[str] = "card.unfrozen"
    summary: ClassVar[str] = "A frozen virtual card was unfrozen and spends again."


class CardClosed(_CardEvent):
    type: ClassVar[str] = "card.closed"
    summary: ClassVar[str] = "A virtual card was closed for good (kept for its history)."
