"""Loans, schedules and payments over HTTP against a real database and broker."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from pfms_loan.models import Instalment, Loan, LoanPayment

pytestmark = pytest.mark.integration

D = Decimal


async def test_emi_loan_schedule_matches_the_annuity_example(env) -> None:
    loan = await env.loan()
    assert loan["emi_amount"] == "8884.88"
    assert loan["remaining_balance"] == "100000.00"
    assert loan["amount_due"] == "106618.53"
    assert loan["end_date"] == "2027-01-15"
    schedule = (await env.get(f"/api/v1/loans/{loan['id']}/schedule")).json()["data"]
    rows = schedule["instalments"]
    assert len(rows) == 12
    assert (rows[0]["interest_amount"], rows[0]["principal_amount"], rows[0]["due_date"]) == (
        "1000.00",
        "7884.88",
        "2026-02-15",
    )
    assert rows[-1]["total_amount"] == "8884.85"
    assert (schedule["total_principal"], schedule["total_interest"]) == ("100000.00", "6618.53")
    created = await env.outbox("loan.created")
    assert created[0]["loan_id"] == loan["id"] and created[0]["emi_amount"] == "8884.88"
    assert created[0]["direction"] == "lent"


async def test_bad_input_is_refused_and_changes_nothing(env) -> None:
    headers = {**env.auth(), "content-type": "application/json"}
    malformed = await env.client.post("/api/v1/loans", content=b'{"type": "lent",', headers=headers)
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "MALFORMED_JSON"
    base = {"type": "lent", "principal_amount": "100", "currency": "USD", "start_date": "2026-01-01"}
    cases = [
        ({**base, "principal_amount": "lots"}, "principal_amount"),
        ({**base, "principal_amount": "-5"}, "principal_amount"),
        ({**base, "currency": "XYZ"}, "currency"),
        ({**base, "surprise": 1}, "surprise"),
        ({**base, "interest_rate": "5"}, "interest_type"),
        ({**base, "interest_type": "simple"}, "interest_rate"),
        ({**base, "interest_type": "simple", "interest_rate": "101"}, "interest_rate"),
        ({**base, "emi_enabled": True, "total_installments": 3}, "emi_frequency"),
        ({**base, "emi_frequency": "monthly"}, "emi_enabled"),
        ({**base, "end_date": "2025-01-01"}, "end_date"),
        ({**base, "principal_amount": "1.001"}, "principal_amount"),
        ({**base, "late_fee_enabled": True}, "late_fee_amount"),
        ({**base, "contact_id": str(uuid.uuid4())}, None),
    ]
    for body, field in cases:
        response = await env.post("/api/v1/loans", body)
        if field is None:
            assert response.status_code == 404, response.text
            continue
        assert response.status_code == 422, (body, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], (field, response.text)
    assert await env.count(Loan) == 0


async def test_another_users_loan_is_a_404_everywhere(env) -> None:
    loan = await env.loan()
    path = f"/api/v1/loans/{loan['id']}"
    for sub in ("", "/schedule", "/payments", "/activities", "/reminders", "/disputes"):
        response = await env.get(path + sub, env.bob)
        assert response.status_code == 404, (sub, response.text)
    pay = await env.post(f"{path}/payments", {"amount": "10", "payment_date": "2026-02-01"}, env.bob)
    assert pay.status_code == 404
    patch = await env.client.patch(path, json={"reason": "mine now"}, headers=env.auth(env.bob))
    assert patch.status_code == 404
    dispute = await env.post(f"{path}/disputes", {"dispute_type": "amount", "description": "x"}, env.bob)
    assert dispute.status_code == 404
    assert (await env.get("/api/v1/loans", env.bob)).json()["pagination"]["total"] == 0
    assert await env.count(LoanPayment) == 0


async def test_payments_allocate_interest_then_principal_and_pay_ahead(env) -> None:
    loan = await env.loan()
    path = f"/api/v1/loans/{loan['id']}/payments"
    partial = await env.post(path, {"amount": "1500.00", "payment_date": "2026-02-15"})
    assert partial.status_code == 201, partial.text
    data = partial.json()["data"]
    assert (data["interest_paid"], data["principal_paid"], data["remaining_balance"]) == (
        "1000.00",
        "500.00",
        "99500.00",
    )
    # 7,384.88 finishes instalment 1; the remaining 2,000 pays instalment 2 ahead (interest 921.15 first)
    ahead = (await env.post(path, {"amount": "9384.88", "payment_date": "2026-02-20"})).json()["data"]
    assert [p["installment_number"] for p in ahead["allocation"]] == [1, 2]
    assert ahead["allocation"][1] == {
        "installment_number": 2,
        "late_fee": "0.00",
        "interest": "921.15",
        "principal": "1078.85",
        "currency": "USD",
    }
    rows = (await env.get(f"/api/v1/loans/{loan['id']}/schedule")).json()["data"]["instalments"]
    assert (rows[0]["status"], rows[1]["status"], rows[1]["outstanding_amount"]) == ("paid", "partial", "6884.88")
    got = (await env.get(f"/api/v1/loans/{loan['id']}")).json()["data"]
    assert (got["total_paid"], got["total_interest_paid"]) == ("10884.88", "1921.15")
    assert got["remaining_balance"] == str(D("100000") - D("7884.88") - D("1078.85"))
    events = await env.outbox("loan.payment")
    assert [e["amount"] for e in events] == ["1500.00", "9384.88"]
    assert events[1]["principal_paid"] == "8463.73" and events[1]["loan_status"] == "active"
    too_much = await env.post(path, {"amount": "200000", "payment_date": "2026-03-01"})
    assert too_much.status_code == 422 and too_much.json()["error"]["details"][0]["field"] == "amount"
    wrong_currency = await env.post(path, {"amount": "1", "currency": "EUR", "payment_date": "2026-03-01"})
    assert wrong_currency.status_code == 422
    assert await env.count(LoanPayment) == 2


async def test_prepayment_regenerates_with_a_lower_instalment_or_a_shorter_term(env) -> None:
    lower = await env.loan(prepayment_mode="reduce_emi")
    path = f"/api/v1/loans/{lower['id']}/payments"
    for n in range(6):
        await env.post(path, {"amount": "8884.88", "payment_date": f"2026-0{n + 2}-15"})
    pre = await env.post(path, {"amount": "20000", "payment_date": "2026-07-20", "payment_type": "prepayment"})
    assert pre.status_code == 201, pre.text
    assert pre.json()["data"]["remaining_balance"] == "31492.09"
    schedule = (await env.get(f"/api/v1/loans/{lower['id']}/schedule")).json()["data"]
    rows = schedule["instalments"]
    assert len(rows) == 12 and rows[6]["total_amount"] == "5433.91"
    assert (schedule["total_principal"], schedule["prepaid_principal"]) == ("80000.00", "20000.00")
    assert sum(D(r["principal_amount"]) for r in rows[6:]) == D("31492.09")

    shorter = await env.loan()
    await env.run_job(date(2026, 1, 20))  # announces every instalment (the horizon is a year)
    path = f"/api/v1/loans/{shorter['id']}/payments"
    for n in range(6):
        await env.post(path, {"amount": "8884.88", "payment_date": f"2026-0{n + 2}-15"})
    ids = [r["id"] for r in (await env.get(f"/api/v1/loans/{shorter['id']}/schedule")).json()["data"]["instalments"]]
    await env.post(path, {"amount": "20000", "payment_date": "2026-07-20", "payment_type": "prepayment"})
    rows = (await env.get(f"/api/v1/loans/{shorter['id']}/schedule")).json()["data"]["instalments"]
    assert len(rows) == 10 and rows[6]["total_amount"] == "8884.88"
    assert [r["id"] for r in rows] == ids[:10]  # recomputed in place; the last two are gone
    dropped = [e for e in await env.outbox("loan.instalment_due") if e["amount"] == "0.00"]
    assert [(e["instalment_id"], e["installment_number"]) for e in dropped] == [(ids[10], 11), (ids[11], 12)]
    assert sum(D(r["principal_amount"]) for r in rows) == D("80000")
    got = (await env.get(f"/api/v1/loans/{shorter['id']}")).json()["data"]
    assert got["end_date"] == rows[-1]["due_date"]
    activities = (await env.get(f"/api/v1/loans/{shorter['id']}/activities")).json()["data"]
    assert "schedule_regenerated" in [a["activity_type"] for a in activities]


async def test_paying_everything_makes_the_loan_paid(env) -> None:
    loan = await env.loan(principal_amount="1000", interest_type="none", interest_rate="0", total_installments=3)
    path = f"/api/v1/loans/{loan['id']}/payments"
    await env.post(path, {"amount": "333.33", "payment_date": "2026-02-15"})
    last = await env.post(path, {"amount": "666.67", "payment_date": "2026-03-15"})
    assert last.json()["data"]["remaining_balance"] == "0.00"
    got = (await env.get(f"/api/v1/loans/{loan['id']}")).json()["data"]
    assert (got["status"], got["amount_due"], got["actual_end_date"]) == ("paid", "0.00", "2026-03-15")
    again = await env.post(path, {"amount": "1", "payment_date": "2026-03-16"})
    assert again.status_code == 409
    assert (await env.outbox("loan.payment"))[-1]["loan_status"] == "paid"


async def test_loan_without_schedule_pays_accrued_interest_first(env) -> None:
    loan = await env.loan(
        principal_amount="10000",
        interest_type="simple",
        interest_rate="5",
        emi_enabled=False,
        emi_frequency=None,
        total_installments=None,
        start_date="2026-01-01",
    )
    assert (await env.get(f"/api/v1/loans/{loan['id']}/schedule")).json()["data"]["instalments"] == []
    path = f"/api/v1/loans/{loan['id']}/payments"
    paid = (await env.post(path, {"amount": "500", "payment_date": "2026-04-01"})).json()["data"]
    assert (paid["interest_paid"], paid["principal_paid"], paid["remaining_balance"]) == ("123.29", "376.71", "9623.29")
    prepay = await env.post(path, {"amount": "5", "payment_date": "2026-04-02", "payment_type": "prepayment"})
    assert prepay.status_code == 422


async def test_update_logs_old_and_new_values_and_cancel(env) -> None:
    loan = await env.loan()
    path = f"/api/v1/loans/{loan['id']}"
    response = await env.client.patch(
        path,
        json={"reason": "car repair", "late_fee_enabled": True, "late_fee_amount": "25", "late_fee_type": "fixed"},
        headers=env.auth(),
    )
    assert response.status_code == 200, response.text
    assert D(response.json()["data"]["late_fee_amount"]) == 25
    bad = await env.client.patch(path, json={"late_fee_type": "percent", "late_fee_amount": "150"}, headers=env.auth())
    assert bad.status_code == 422
    null = await env.client.patch(path, json={"priority": None}, headers=env.auth())
    assert null.status_code == 422 and null.json()["error"]["details"][0]["field"] == "priority"
    activities = (await env.get(f"{path}/activities")).json()["data"]
    update = next(a for a in activities if a["activity_type"] == "loan_updated")
    assert update["old_value"]["reason"] is None and update["new_value"]["reason"] == "car repair"
    cancel = await env.client.patch(path, json={"status": "cancelled"}, headers=env.auth())
    assert cancel.json()["data"]["status"] == "cancelled"
    reopen = await env.client.patch(path, json={"status": "active"}, headers=env.auth())
    assert reopen.status_code == 409
    assert await env.count(Instalment, Instalment.loan_id == uuid.UUID(loan["id"])) == 12
