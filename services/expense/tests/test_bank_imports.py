"""`account.transaction_imported` debits become expenses (published as expense.created with the import
reference), once; a manual expense of the same payment is matched instead of duplicated; credits are
the income service's. A revision or removal by the bank follows through to the expense it created, and
leaves one the person entered alone (a removal unlinks it)."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pfms_contracts.accounts import TransactionImported, TransactionRemoved, TransactionRevised
from pfms_expense.bank_imports import BankImport
from pfms_expense.models import Expense
from pfms_platform.events.tables import InboxEvent


def imported(user_id: uuid.UUID, account_id: uuid.UUID, **more: Any) -> TransactionImported:
    fields: dict[str, Any] = {
        "user_id": user_id,
        "transaction_id": uuid.uuid4(),
        "account_id": account_id,
        "source": "plaid",
        "external_id": f"tx-{uuid.uuid4().hex[:8]}",
        "direction": "debit",
        "amount": Decimal("72.10"),
        "currency": "USD",
        "description": "WHOLE FOODS MARKET #1234",
        "merchant": "Whole Foods",
        "occurred_on": date(2026, 11, 20),
        **more,
    }
    return TransactionImported(**fields)


async def test_imports_become_expenses_once_and_match_manual_ones(env) -> None:
    alice = await env.signup()
    account = uuid.uuid4()
    manual = await env.expense(alice, amount="12.50", expense_date="2026-11-21", description="Lunch")
    on_account = await env.expense(
        alice, amount="12.50", expense_date="2026-11-21", description="Lunch again", account_id=str(account)
    )

    groceries = imported(alice.user_id, account)
    lunch = imported(alice.user_id, account, amount=Decimal("12.50"), occurred_on=date(2026, 11, 21), merchant=None)
    lunch_again = imported(alice.user_id, account, amount=Decimal("12.50"), occurred_on=date(2026, 11, 21))
    card = imported(alice.user_id, account, source="card", posted=True, amount=Decimal("3.00"), merchant="Cafe")
    salary = imported(alice.user_id, account, direction="credit", amount=Decimal("2500.00"))
    for event in (groceries, lunch, lunch_again, card, salary):
        await env.publish(event, source="accounts")
    await env.publish(groceries, source="accounts")  # a re-delivery (a new event id, the same transaction)

    async def settled() -> bool:
        return await env.count(BankImport) == 4

    await env.until(settled)
    await env.until(lambda: _expenses(env, alice.user_id, 4))  # two new (groceries, card) + the two manual ones

    created = [e for e in await env.outbox("expense.created") if "import_ref" in e]
    assert [(e["amount"], e["source"], e["account_id"], e["import_ref"]["posted"]) for e in created] == [
        ("72.10", "import", str(account), False),
        ("3.00", "import", str(account), True),
    ]
    assert created[0]["description"] == "WHOLE FOODS MARKET #1234" and created[0]["import_ref"] == {
        "source": "plaid",
        "transaction_id": str(groceries.transaction_id),
        "external_id": groceries.external_id,
        "posted": False,
    }
    # The manual ones were matched, the one on the import's account first; the other took the account.
    updated = {e["expense_id"]: e for e in await env.outbox("expense.updated")}
    assert set(updated) == {manual["id"], on_account["id"]}
    assert updated[on_account["id"]]["import_ref"]["external_id"] == lunch.external_id
    assert updated[manual["id"]]["import_ref"]["external_id"] == lunch_again.external_id
    assert updated[manual["id"]]["account_id"] == str(account)
    async with env.svc.db.sessions() as session:
        row = await session.get(Expense, uuid.UUID(manual["id"]))
        assert row is not None and row.account_id == account and row.source == "manual"
    assert await env.count(BankImport, BankImport.matched.is_(True)) == 2
    # Nothing for the credit (the income service's), nothing twice for the re-delivery.
    assert all(e["amount"] != "2500.00" for e in await env.outbox("expense.created"))

    # The bank revises the groceries (new amount, day, text) and the matched lunch, drops the card spend
    # and the other matched lunch; each is delivered twice, and a removal of a credit reaches us too.
    changes = {"amount": Decimal("80.00"), "occurred_on": date(2026, 11, 22), "description": "WHOLE FOODS #1234 ADJ"}
    revised = TransactionRevised(**{**groceries.model_dump(), **changes})
    lunch_revised = TransactionRevised(**{**lunch.model_dump(), "amount": Decimal("13.00")})
    drops = [
        TransactionRemoved(**{k: getattr(t, k) for k in TransactionRemoved.model_fields})
        for t in (card, lunch_again, salary)
    ]
    sent = [await env.publish(e, source="accounts") for e in (revised, lunch_revised, *drops) for _ in range(2)]

    async def handled() -> bool:
        return await env.count(InboxEvent, InboxEvent.event_id.in_([e.id for e in sent])) == len(sent)

    await env.until(handled)
    updates = [e for e in await env.outbox("expense.updated") if e["expense_id"] == created[0]["expense_id"]]
    assert [(e["amount"], e["expense_date"], e["previous_amount"], e["previous_expense_date"]) for e in updates] == [
        ("80.00", "2026-11-22", "72.10", "2026-11-20")
    ]
    assert updates[0]["import_ref"]["external_id"] == groceries.external_id
    deleted = await env.outbox("expense.deleted")
    assert [(e["expense_id"], e["amount"]) for e in deleted] == [(created[1]["expense_id"], "3.00")]
    async with env.svc.db.sessions() as session:
        groceries_row = await session.get(Expense, uuid.UUID(created[0]["expense_id"]))
        assert groceries_row is not None and groceries_row.description == "WHOLE FOODS #1234 ADJ"
        assert await session.get(Expense, uuid.UUID(created[1]["expense_id"])) is None
        kept = await session.get(Expense, uuid.UUID(on_account["id"]))
        assert kept is not None and kept.amount == Decimal("12.50")  # the person's own, left as they wrote it
        assert await session.get(Expense, uuid.UUID(manual["id"])) is not None  # unlinked, not deleted
    # The taken rows stay (unlinked): a redelivered import creates nothing again.
    assert await env.count(BankImport) == 4
    assert await env.count(BankImport, BankImport.expense_id.is_(None)) == 2
    again = [await env.publish(e, source="accounts") for e in (card, lunch_again)]

    async def redelivered() -> bool:
        return await env.count(InboxEvent, InboxEvent.event_id.in_([e.id for e in again])) == len(again)

    await env.until(redelivered)
    assert await env.count(Expense, Expense.user_id == alice.user_id) == 3
    assert len(await env.outbox("expense.created")) == len(created) + 2  # only the two manual ones besides


async def _expenses(env: Any, user_id: uuid.UUID, n: int) -> bool:
    return bool(await env.count(Expense, Expense.user_id == user_id) == n)
