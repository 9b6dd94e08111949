"""The one interface every bank-data provider adapter offers, and the shapes it hands back.

Amounts come back signed as the ledger signs them: money leaving an account is negative, and what is
owed on a card or loan is a negative balance. Adapters translate their provider's conventions (Plaid:
a positive amount leaves the account; Belvo: positive amounts with an INFLOW/OUTFLOW type).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal, Protocol

from pfms_accounts.domain import AccountType


class ProviderError(Exception):
    """A provider refused or failed; `reauth` when only the person can fix it (log in again at the bank)."""

    def __init__(self, code: str, message: str, *, reauth: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reauth = reauth


class WebhookRefused(Exception):
    """The webhook's signature or secret did not verify: it is answered 401 and nothing changes."""


@dataclass(frozen=True)
class Linked:
    external_id: str
    """The provider's id of the link (Plaid item id, Belvo link id)."""
    access_token: str
    institution: str | None = None


@dataclass(frozen=True)
class ProviderAccount:
    external_id: str
    name: str
    type: AccountType
    currency: str
    balance: Decimal
    institution: str | None = None


@dataclass(frozen=True)
class ProviderTransaction:
    external_id: str
    account_external_id: str
    amount: Decimal
    currency: str
    occurred_on: date
    description: str
    merchant: str | None = None
    pending: bool = False


@dataclass(frozen=True)
class Batch:
    """What an incremental fetch found since `cursor`, and the cursor to continue from next time."""

    added: list[ProviderTransaction]
    cursor: str
    removed: list[str] = field(default_factory=list)
    """Provider ids of transactions it dropped."""
    modified: list[ProviderTransaction] = field(default_factory=list)
    """Transactions it changed since it first sent them (same ids, new amount, date or text)."""


@dataclass(frozen=True)
class WebhookNote:
    """What a verified webhook says about which link: sync it, or the person must re-authenticate."""

    external_id: str
    action: Literal["sync", "reauth", "ignore"]
    code: str


class Provider(Protocol):
    name: Literal["plaid", "belvo"]

    async def link(self, public_token: str) -> Linked: ...

    async def accounts(self, access_token: str) -> list[ProviderAccount]:
        """The link's accounts with their balances refreshed at the provider."""
        ...

    async def transactions(self, access_token: str, cursor: str | None) -> Batch:
        """Every transaction new since `cursor` (None: from the start), across all pages."""
        ...

    async def unlink(self, access_token: str) -> None: ...

    async def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNote:
        """Check the webhook came from the provider (raise WebhookRefused otherwise) and read it."""
        ...


def ledger_balance(account_type: AccountType, provider_balance: Decimal) -> Decimal:
    """Providers report what is owed on a card or loan as a positive balance; the ledger keeps it negative."""
    return -provider_balance if account_type in (AccountType.CREDIT_CARD, AccountType.LOAN) else provider_balance
