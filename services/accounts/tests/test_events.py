"""Expenses and income that name an account are booked on it from their events: created, changed
(amount, account), deleted, repeated — and never on another user's account or in another currency."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from pfms_accounts.models import JournalEntry
from pfms_contracts import EventData
from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_contracts.income import IncomeReceived
from pfms_platform.events.tables import InboxEvent
from pfms_platform.testing.helpers import publish_event, until

from .conftest import Harness

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)


async def settled(env: Harness, account_id: str, expected: str, user: uuid.UUID | None = None) -> None:
    async def check() -> bool:
        return await env.balance(account_id, user) == Decimal(expected)

    await until(check)


async def test_expenses_and_income_naming_an_account_move_its_balance(env: Harness) -> None:
    wallet = await env.account(opening_balance="100")
    card = await env.account(name="Card", type="credit_card")
    url = env.svc.settings.amqp_url
    expense_id, income_id = uuid.uuid4(), uuid.uuid4()
    facts: dict[str, Any] = {
        "user_id": env.alice,
        "expense_id": expense_id,
        "currency": "USD",
        "expense_date": DAY,
        "description": "Lunch",
    }

    async def send(data: EventData) -> None:
        await publish_event(url, data, source="expense")

    await send(ExpenseCreated(**facts, amount=Decimal("12.50"), account_id=uuid.UUID(wallet["id"])))
    await settled(env, wallet["id"], "87.50")
    await send(ExpenseCreated(**facts, amount=Decimal("12.50"), account_id=uuid.UUID(wallet["id"])))  # again
    await send(
        ExpenseUpdated(
            **facts,
            amount=Decimal("20"),
            account_id=uuid.UUID(card["id"]),
            previous_amount=Decimal("12.50"),
            previous_expense_date=DAY,
        )
    )
    await settled(env, card["id"], "-20.00")
    assert await env.balance(wallet["id"]) == Decimal(100)  # moved off the wallet
    await send(
        IncomeReceived(
            user_id=env.alice,
            income_id=income_id,
            source_type="salary",
            amount=Decimal(3000),
            net_amount=Decimal("2500"),
            currency="USD",
            received_date=DAY,
            account_id=uuid.UUID(wallet["id"]),
        )
    )
    await settled(env, wallet["id"], "2600.00")
    await send(
        ExpenseDeleted(
            user_id=env.alice,
            expense_id=expense_id,
            amount=Decimal(20),
            currency="USD",
            expense_date=DAY,
            account_id=uuid.UUID(card["id"]),
        )
    )
    await settled(env, card["id"], "0.00")
    await send(
        ExpenseUpdated(
            **facts,
            amount=Decimal("20"),
            account_id=uuid.UUID(card["id"]),  # late: tombstone
            previous_amount=Decimal("12.50"),
            previous_expense_date=DAY,
        )
    )
    kinds = [p["kind"] for p in (await env.get(f"/api/v1/accounts/{card['id']}/postings")).json()["data"]]
    assert kinds == ["expense", "expense"]  # booked, then reversed: nothing from the late update
    assert await env.ledger_sums() == {"USD": 0}


async def test_another_users_account_or_currency_books_nothing(env: Harness) -> None:
    theirs = await env.account(env.bob, opening_balance="50")
    euros = await env.account(currency="EUR", opening_balance="50")
    url = env.svc.settings.amqp_url
    for account in (theirs, euros):
        await publish_event(
            url,
            ExpenseCreated(
                user_id=env.alice,
                expense_id=uuid.uuid4(),
                amount=Decimal(5),
                currency="USD",
                expense_date=DAY,
                account_id=uuid.UUID(account["id"]),
            ),
            source="expense",
        )
    marker = uuid.uuid4()
    mine = await env.account(opening_balance="10")
    await publish_event(
        url,
        ExpenseCreated(
            user_id=env.alice,
            expense_id=marker,
            amount=Decimal(1),
            currency="USD",
            expense_date=DAY,
            account_id=uuid.UUID(mine["id"]),
        ),
        source="expense",
    )
    await settled(env, mine["id"], "9.00")

    async def all_handled() -> bool:
        return await env.svc.count(InboxEvent) == 3

    await until(all_handled)
    assert await env.balance(theirs["id"], env.bob) == Decimal(50)
    assert await env.balance(euros["id"]) == Decimal(50)
    assert await env.svc.count(JournalEntry, JournalEntry.kind == "expense") == 1
