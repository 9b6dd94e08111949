"""The daily job with an injected clock: overdue after the grace period, late fees, reminders, events."""

import asyncio
from datetime import date

import pytest

from pfms_loan import jobs
from pfms_loan.models import PaymentReminder

pytestmark = pytest.mark.integration


async def test_instalment_goes_overdue_after_grace_with_a_late_fee_and_reminders(env) -> None:
    loan = await env.loan(
        late_fee_enabled=True,
        late_fee_type="percent",
        late_fee_amount="2",
        grace_period_days=3,
        reminder_days_before=3,
    )
    loan_id = loan["id"]
    before = await env.run_job(date(2026, 2, 11))
    assert (before.reminders, before.overdue) == (0, 0)
    assert before.announced == 12  # every instalment within the income projection's year
    upcoming = await env.run_job(date(2026, 2, 12))
    assert upcoming.reminders == 1
    assert (await env.run_job(date(2026, 2, 12))).loans == 0  # once a day
    grace = await env.run_job(date(2026, 2, 18))
    assert grace.overdue == 0
    late = await env.run_job(date(2026, 2, 19))
    assert late.overdue == 1
    schedule = (await env.get(f"/api/v1/loans/{loan_id}/schedule")).json()["data"]["instalments"]
    first = schedule[0]
    # 2 % of 8,884.88 = 177.6976 -> 177.70
    assert (first["status"], first["late_fee"], first["outstanding_amount"]) == ("overdue", "177.70", "9062.58")
    assert (first["days_overdue"], first["overdue_since"]) == (4, "2026-02-19")
    assert (await env.get(f"/api/v1/loans/{loan_id}")).json()["data"]["status"] == "overdue"
    await env.run_job(date(2026, 2, 25))
    schedule = (await env.get(f"/api/v1/loans/{loan_id}/schedule")).json()["data"]["instalments"]
    assert (schedule[0]["days_overdue"], schedule[0]["late_fee"]) == (10, "177.70")  # the fee is charged once

    reminders = (await env.get(f"/api/v1/loans/{loan_id}/reminders")).json()["data"]
    assert [(r["reminder_type"], r["due_date"]) for r in reminders] == [
        ("upcoming", "2026-02-15"),
        ("overdue", "2026-02-15"),
    ]
    notes = await env.outbox("notification.requested")
    assert [n["data"]["kind"] for n in notes] == ["upcoming", "overdue"]
    assert notes[1]["category"] == "loan" and notes[1]["data"]["amount"] == "9062.58"
    overdue = await env.outbox("loan.overdue")
    assert len(overdue) == 1 and overdue[0]["late_fee"] == "177.70" and overdue[0]["days_overdue"] == 4
    due = await env.outbox("loan.instalment_due")
    assert due[0] == {
        "user_id": str(env.alice),
        "loan_id": loan_id,
        "direction": "lent",
        "currency": "USD",
        "instalment_id": first["id"],
        "installment_number": 1,
        "due_date": "2026-02-15",
        "amount": "8884.88",
    }

    # paying the fee, interest and principal closes the instalment; the loan is active again
    paid = await env.post(f"/api/v1/loans/{loan_id}/payments", {"amount": "9062.58", "payment_date": "2026-02-25"})
    assert paid.json()["data"]["late_fee_paid"] == "177.70"
    got = (await env.get(f"/api/v1/loans/{loan_id}")).json()["data"]
    assert (got["status"], got["total_late_fee_paid"]) == ("active", "177.70")


async def test_snooze_brings_a_reminder_back_and_acknowledge_stops_it(env) -> None:
    loan = await env.loan(reminder_days_before=5)
    await env.run_job(date(2026, 2, 10))
    reminder = (await env.get("/api/v1/loans/reminders")).json()["data"][0]
    path = f"/api/v1/loans/reminders/{reminder['id']}"
    past = await env.post(f"{path}/snooze", {"until": "2026-02-10"})
    assert past.status_code == 422 and past.json()["error"]["details"][0]["field"] == "until"
    snoozed = await env.post(f"{path}/snooze", {"until": "2026-02-13"})
    assert snoozed.json()["data"]["is_snoozed"] is True
    assert (await env.run_job(date(2026, 2, 12))).reminders == 0
    assert (await env.run_job(date(2026, 2, 13))).reminders == 1
    assert len(await env.outbox("notification.requested")) == 2
    await env.post(f"{path}/snooze", {"until": "2026-02-14"})
    ack = await env.post(f"{path}/acknowledge", {})
    assert ack.json()["data"]["is_acknowledged"] is True
    assert (await env.run_job(date(2026, 2, 14))).reminders == 0
    assert (await env.get("/api/v1/loans/reminders", pending="true")).json()["pagination"]["total"] == 0
    other = await env.post(f"{path}/acknowledge", {}, env.bob)
    assert other.status_code == 404
    assert loan["id"] == reminder["loan_id"]


async def test_two_instances_at_once_charge_and_remind_once(env) -> None:
    for _ in range(3):
        await env.loan(late_fee_enabled=True, late_fee_type="fixed", late_fee_amount="25")
    day = date(2026, 2, 16)
    env.set_today(day)
    first, second = await asyncio.gather(jobs.daily(env.svc.db, day, 30), jobs.daily(env.svc.db, day, 30))
    assert first.loans + second.loans == 3
    assert first.overdue + second.overdue == 3
    assert await env.count(PaymentReminder) == 3
    assert len(await env.outbox("loan.overdue")) == 3


async def test_internal_trigger_needs_a_service_token(env) -> None:
    from pfms_platform.security import mint_service_token

    await env.loan()
    denied = await env.client.post("/internal/v1/loans/jobs/daily", json={}, headers=env.auth())
    assert denied.status_code == 401
    token = mint_service_token(env.svc.settings.service_token_secret, "ops")
    ran = await env.client.post(
        "/internal/v1/loans/jobs/daily", json={"day": "2026-02-17"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert ran.status_code == 200, ran.text
    assert ran.json()["data"]["overdue"] == 1


async def test_loan_without_schedule_is_overdue_after_its_end_date(env) -> None:
    loan = await env.loan(
        principal_amount="500",
        interest_type="none",
        interest_rate="0",
        emi_enabled=False,
        emi_frequency=None,
        total_installments=None,
        end_date="2026-03-01",
        grace_period_days=1,
    )
    assert (await env.run_job(date(2026, 3, 2))).overdue == 0
    assert (await env.run_job(date(2026, 3, 3))).overdue == 1
    assert (await env.run_job(date(2026, 3, 4))).overdue == 0  # announced once
    got = (await env.get(f"/api/v1/loans/{loan['id']}")).json()["data"]
    assert got["status"] == "overdue"
    (event,) = await env.outbox("loan.overdue")
    assert (event["instalment_id"], event["due_date"], event["outstanding"], event["days_overdue"]) == (
        None,
        "2026-03-01",
        "500.00",
        2,
    )
    part = await env.post(f"/api/v1/loans/{loan['id']}/payments", {"amount": "200", "payment_date": "2026-03-04"})
    assert part.status_code == 201
    assert (await env.get(f"/api/v1/loans/{loan['id']}")).json()["data"]["status"] == "overdue"
    await env.post(f"/api/v1/loans/{loan['id']}/payments", {"amount": "300", "payment_date": "2026-03-04"})
    assert (await env.get(f"/api/v1/loans/{loan['id']}")).json()["data"]["status"] == "paid"
