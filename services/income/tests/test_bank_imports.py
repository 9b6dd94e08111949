"""`account.transaction_imported` credits become income (published as income.received with the import
reference), once; income entered by hand for the same payment is matched instead of duplicated; debits
are the expense service's. A revision or removal by the bank follows through to the income it created, and
leaves income the person entered alone (a removal unlinks it)."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pfms_contracts.accounts import TransactionImported, TransactionRemoved, TransactionRevised
from pfms_income.bank_imports import BankImport
from pfms_income.models import IncomeTransaction

URL = "/api/v1/income/transactions"


def imported(user_id: uuid.UUID, account_id: uuid.UUID, **more: Any) -> TransactionImported:
    fields: dict[str, Any] = {
        "user_id": user_id,
        "transaction_id": uuid.uuid4(),
        "account_id": account_id,
        "source": "belvo",
        "external_id": f"tx-{uuid.uuid4().hex[:8]}",
        "direction": "credit",
        "amount": Decimal("18000.00"),
        "currency": "MXN",
        "description": "NOMINA ACME SA DE CV",
        "occurred_on": date(2026, 11, 19),
        **more,
    }
    return TransactionImported(**fields)


async def test_imports_become_income_once_and_match_entered_income(env) -> None:
    me = env.person()
    account = uuid.uuid4()
    entered = await env.client.post(
        URL,
        json={"amount": "500.00", "currency": "MXN", "date": "2026-11-20", "type": "freelance"},
        headers=me.headers,
    )
    assert entered.status_code == 201, entered.text
    salary = imported(me.user_id, account)
    invoice = imported(me.user_id, account, amount=Decimal("500.00"), occurred_on=date(2026, 11, 20))
    spend = imported(me.user_id, account, direction="debit", amount=Decimal("20.00"))
    for event in (salary, invoice, spend, salary):  # the last: a re-delivery with a new event id
        await env.deliver(event, source="accounts")

    assert await env.count(BankImport) == 2
    assert await env.count(IncomeTransaction, IncomeTransaction.user_id == me.user_id) == 2
    received = [e["data"] for e in await env.outbox("income.received") if "import_ref" in e["data"]]
    assert [(r["net_amount"], r["currency"], r["account_id"], r["source_type"]) for r in received] == [
        ("18000.00", "MXN", str(account), "other")
    ]
    assert received[0]["import_ref"]["external_id"] == salary.external_id
    updated = [e["data"] for e in await env.outbox("income.updated")]
    assert len(updated) == 1 and updated[0]["income_id"] == entered.json()["data"]["id"]
    assert updated[0]["account_id"] == str(account) and updated[0]["import_ref"]["source"] == "belvo"

    # The bank revises the salary and the matched invoice, drops a bonus and the invoice (each twice).
    bonus = imported(me.user_id, account, amount=Decimal("1000.00"), description="BONO")
    await env.deliver(bonus, source="accounts")
    changes = {"amount": Decimal("18500.00"), "occurred_on": date(2026, 11, 20), "description": "NOMINA ACME"}
    revised = TransactionRevised(**{**salary.model_dump(), **changes})
    invoice_revised = TransactionRevised(**{**invoice.model_dump(), "amount": Decimal("550.00")})
    bonus_gone, invoice_gone, spend_gone = (
        TransactionRemoved(**{k: getattr(t, k) for k in TransactionRemoved.model_fields})
        for t in (bonus, invoice, spend)
    )
    for event in (revised, invoice_revised, bonus_gone, invoice_gone, spend_gone):
        for _ in range(2):
            await env.deliver(event, source="accounts")
    updated = [e["data"] for e in await env.outbox("income.updated")][1:]
    assert [(u["net_amount"], u["received_date"], u["previous_net_amount"], u["description"]) for u in updated] == [
        ("18500.00", "2026-11-20", "18000.00", "NOMINA ACME")
    ]
    assert updated[0]["income_id"] == received[0]["income_id"] and updated[0]["import_ref"] is not None
    deleted = [e["data"] for e in await env.outbox("income.deleted")]
    assert [(Decimal(d["net_amount"]), d["account_id"]) for d in deleted] == [(Decimal(1000), str(account))]
    async with env.svc.db.sessions() as session:
        own = await session.get(IncomeTransaction, uuid.UUID(entered.json()["data"]["id"]))
        assert own is not None and own.net_amount == Decimal("500.00")  # as the person wrote it
    # The taken rows stay, unlinked: a redelivered import records nothing.
    assert await env.count(BankImport) == 3
    assert await env.count(BankImport, BankImport.income_id.is_(None)) == 2
    await env.deliver(bonus, source="accounts")
    assert await env.count(IncomeTransaction, IncomeTransaction.user_id == me.user_id) == 2
