"""`account.transaction_imported` credits become income (published as income.received with the import
reference), once; income entered by hand for the same payment is matched instead of duplicated; debits
are the expense service's."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from pfms_contracts.accounts import TransactionImported
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
