"""Loan payments and investment transactions are booked on the account linked to their loan or portfolio:
exactly, once per payment or transaction, and never on an unlinked account, another user's, or in another
currency."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from pfms_accounts.models import JournalEntry
from pfms_contracts import EventData
from pfms_contracts.investment import InvestmentTransaction
from pfms_contracts.loan import LoanPaymentMade
from pfms_platform.events.tables import InboxEvent
from pfms_platform.testing.helpers import publish_event, until

from .conftest import Harness

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)


def payment(user: uuid.UUID, loan: str, principal: str, direction: str = "borrowed", **more: Any) -> LoanPaymentMade:
    return LoanPaymentMade(
        user_id=user,
        loan_id=uuid.UUID(loan),
        direction=direction,
        currency=more.pop("currency", "USD"),
        payment_id=more.pop("payment_id", uuid.uuid4()),
        amount=Decimal(principal) + Decimal(15),
        principal_paid=Decimal(principal),
        interest_paid=Decimal(15),
        late_fee_paid=Decimal(0),
        remaining_balance=Decimal(0),
        payment_date=DAY,
        payment_type="regular",
        loan_status="active",
    )


def trade(user: uuid.UUID, portfolio: str, kind: str, amount: str, **more: Any) -> InvestmentTransaction:
    return InvestmentTransaction(
        user_id=user,
        portfolio_id=uuid.UUID(portfolio),
        asset_id=uuid.uuid4(),
        transaction_id=more.pop("transaction_id", uuid.uuid4()),
        symbol="ACME",
        asset_type="stock",
        transaction_type=kind,
        quantity=more.pop("quantity", Decimal(3)),
        price=more.pop("price", Decimal(100)),
        amount=Decimal(amount),
        currency=more.pop("currency", "USD"),
        transaction_date=DAY,
        **more,
    )


async def test_payments_and_transactions_book_on_the_linked_account_once(env: Harness) -> None:
    loan, lent, euro_loan, bobs_loan, portfolio = (str(uuid.uuid4()) for _ in range(5))
    owed = await env.account(name="Mortgage", type="loan", loan_id=loan, opening_balance="-1000")
    given = await env.account(name="To Carol", type="loan", loan_id=lent, opening_balance="400")
    euros = await env.account(name="EUR loan", type="loan", loan_id=euro_loan, currency="EUR", opening_balance="-500")
    bobs = await env.account(env.bob, name="Bob's", type="loan", loan_id=bobs_loan, opening_balance="-300")
    shares = await env.account(name="Broker", type="investment", portfolio_id=portfolio)
    first, bought = uuid.uuid4(), uuid.uuid4()
    events: list[EventData] = [
        payment(env.alice, loan, "200.00", payment_id=first),
        payment(env.alice, loan, "200.00", payment_id=first),  # redelivered
        payment(env.alice, lent, "100.00", direction="lent"),
        payment(env.alice, euro_loan, "50.00"),  # a USD payment: the account is in EUR
        payment(env.alice, bobs_loan, "50.00"),  # Bob's account, Alice's event
        payment(env.alice, str(uuid.uuid4()), "50.00"),  # no account linked
        trade(env.alice, portfolio, "buy", "300", fees=Decimal("1.50"), transaction_id=bought),
        trade(env.alice, portfolio, "buy", "300", fees=Decimal("1.50"), transaction_id=bought),  # redelivered
        trade(env.alice, portfolio, "sell", "120", quantity=Decimal("1.2"), fees=Decimal(1), tax=Decimal("0.50")),
        trade(env.alice, portfolio, "dividend", "10", quantity=Decimal(0), price=Decimal(0), tax=Decimal("1.50")),
        trade(env.alice, portfolio, "split", "0", quantity=Decimal(2), price=Decimal(0)),
        trade(env.alice, portfolio, "buy", "99", currency="EUR"),  # not the account's currency
        trade(env.bob, portfolio, "buy", "99"),  # Alice's portfolio account, Bob's event
    ]
    for event in events:
        await publish_event(env.svc.settings.amqp_url, event, source=event.type.split(".")[0])

    async def all_handled() -> bool:
        return await env.svc.count(InboxEvent) == len(events)

    await until(all_handled)
    assert await env.balance(owed["id"]) == Decimal("-800.00")
    assert await env.balance(given["id"]) == Decimal("300.00")
    assert await env.balance(euros["id"]) == Decimal("-500.00")
    assert await env.balance(bobs["id"], env.bob) == Decimal("-300.00")
    assert await env.balance(shares["id"]) == Decimal("191.50")  # 301.50 - 118.50 + 8.50
    assert await env.svc.count(JournalEntry, JournalEntry.kind == "loan_payment") == 2
    assert await env.svc.count(JournalEntry, JournalEntry.kind == "investment") == 3
    postings = (await env.get(f"/api/v1/accounts/{owed['id']}/postings")).json()["data"]
    assert [(p["kind"], p["amount"]) for p in postings] == [("loan_payment", "200.00"), ("opening", "-1000.00")]
    assert await env.ledger_sums() == {"USD": 0, "EUR": 0}
