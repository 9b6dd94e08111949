"""Rules of bank connections without I/O: what of a provider's transactions is imported, which way it
moved, the opening balance of an account a connection brings, and the health shown to the person.

A new connected account is opened at the provider's balance less what this first sync imports into it:
the imports reach the ledger through the expense and income services (which book them on the account),
so once they are booked the ledger equals the provider's balance. After that the provider's balance is
only compared with the ledger, and a difference is shown, never booked silently.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pfms_accounts.providers.base import ProviderTransaction


class Status(StrEnum):
    ACTIVE = "active"
    REAUTH_REQUIRED = "reauth_required"
    UNLINKED = "unlinked"


def direction(amount: Decimal) -> Literal["debit", "credit"]:
    """Money leaving the account (negative on the ledger) is a debit: an expense; entering, a credit: income."""
    return "debit" if amount < 0 else "credit"


def importable(transaction: ProviderTransaction, account_currency: str | None) -> bool:
    """Posted, non-zero, of a known account and in that account's currency. Pending transactions wait: the
    provider replaces them with the posted one (another id, sometimes another amount)."""
    return (
        account_currency is not None
        and not transaction.pending
        and transaction.amount != 0
        and transaction.currency == account_currency
    )


def opening_balance(provider_balance: Decimal, imported: Iterable[Decimal]) -> Decimal:
    """The balance before the imported (signed) transactions: once they are booked, the ledger is the provider's."""
    return provider_balance - sum(imported, Decimal(0))


@dataclass(frozen=True)
class Difference:
    provider_balance: Decimal
    ledger_balance: Decimal

    @property
    def difference(self) -> Decimal:
        """Positive when the bank shows more than the ledger."""
        return self.provider_balance - self.ledger_balance


def reauth_message(institution: str | None) -> tuple[str, str]:
    where = institution or "your bank"
    return (
        "Reconnect your bank",
        f"The connection to {where} needs you to log in again before it can sync new transactions.",
    )
