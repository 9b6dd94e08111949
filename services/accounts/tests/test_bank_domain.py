"""Rules of bank connections without I/O."""

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pfms_accounts import connections
from pfms_accounts.connections import Difference
from pfms_accounts.domain import AccountType
from pfms_accounts.providers import belvo, plaid
from pfms_accounts.providers.base import ProviderTransaction, ledger_balance

money = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False)


def transaction(amount: str, **more: Any) -> ProviderTransaction:
    fields: dict[str, Any] = {
        "external_id": "t",
        "account_external_id": "a",
        "amount": Decimal(amount),
        "currency": "USD",
        "occurred_on": date(2026, 11, 20),
        "description": "x",
        **more,
    }
    return ProviderTransaction(**fields)


@given(balance=money, imported=st.lists(money.filter(lambda d: d != 0), max_size=20))
def test_once_the_imports_are_booked_the_ledger_is_the_providers_balance(
    balance: Decimal, imported: list[Decimal]
) -> None:
    opening = connections.opening_balance(balance, imported)
    assert opening + sum(imported, Decimal(0)) == balance
    assert Difference(balance, opening + sum(imported, Decimal(0))).difference == 0


def test_direction_importable_and_signs() -> None:
    assert connections.direction(Decimal("-0.01")) == "debit"
    assert connections.direction(Decimal("5")) == "credit"
    assert connections.importable(transaction("-5"), "USD")
    assert not connections.importable(transaction("-5", pending=True), "USD")  # the posted one replaces it
    assert not connections.importable(transaction("-5"), "EUR")  # not the account's currency
    assert not connections.importable(transaction("-5"), None)  # an account the connection does not have
    assert not connections.importable(transaction("0"), "USD")
    assert ledger_balance(AccountType.CREDIT_CARD, Decimal(410)) == Decimal(-410)
    assert ledger_balance(AccountType.LOAN, Decimal(1)) == Decimal(-1)
    assert ledger_balance(AccountType.SAVINGS, Decimal(1)) == Decimal(1)
    assert Difference(Decimal("100"), Decimal("90.5")).difference == Decimal("9.5")


def test_webhook_bodies_are_read_as_documented() -> None:
    assert (
        plaid.read_webhook(
            {"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "i"}
        ).action
        == "sync"
    )
    assert (
        plaid.read_webhook({"webhook_type": "ITEM", "webhook_code": "PENDING_EXPIRATION", "item_id": "i"}).action
        == "reauth"
    )
    assert (
        plaid.read_webhook({"webhook_type": "ITEM", "webhook_code": "LOGIN_REPAIRED", "item_id": "i"}).action == "sync"
    )
    assert (
        plaid.read_webhook({"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED"}).action == "ignore"
    )
    assert (
        belvo.read_webhook({"webhook_type": "LINKS", "webhook_code": "token_required", "link_id": "l"}).action
        == "reauth"
    )
    assert belvo.read_webhook({"webhook_type": "ACCOUNTS", "webhook_code": "historical_update"}).action == "ignore"
