"""Issue 6 (loans) through the gateway: a lent EMI loan goes overdue when the daily job runs on a later
day (the clock is injected through the loan service's internal job route, which the gateway does not
route), a late fee and reminders appear, `loan.overdue` is on the bus, payments bring it to `paid`,
and another user sees none of it. The borrower, a second user the lender links by e-mail, sees the loan
and its payments from their side, read-only, and opens a dispute the lender resolves."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from journeys import BusTap, sign_up, verify_email

from pfms_local.fleet import Fleet
from pfms_platform.security import mint_service_token
from pfms_platform.settings import DEV_SERVICE_TOKEN_SECRET

pytestmark = pytest.mark.e2e


async def run_loan_job(fleet: Fleet, day: Any) -> dict[str, Any]:
    """The daily loan job for `day`, as an operator (service token) would run it."""
    token = mint_service_token(DEV_SERVICE_TOKEN_SECRET, "e2e")
    async with httpx.AsyncClient(base_url=fleet.url("loan")) as client:
        response = await client.post(
            "/internal/v1/loans/jobs/daily",
            json={"day": day.isoformat()},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_a_lent_emi_loan_goes_overdue_takes_a_late_fee_and_is_paid_off(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    lender = await sign_up(gateway, wait_profile=False)
    other = await sign_up(gateway, wait_profile=False)
    internal = await gateway.post("/internal/v1/loans/jobs/daily", json={})
    assert internal.status_code == 404  # the job route is not on the gateway

    contact = await gateway.post(
        "/api/v1/contacts", json={"contact_type": "external", "name": "Karim"}, headers=lender.headers
    )
    assert contact.status_code == 201, contact.text
    start = datetime.now(UTC).date()
    created = await gateway.post(
        "/api/v1/loans",
        json={
            "type": "lent",
            "contact_id": contact.json()["data"]["id"],
            "principal_amount": "3000.00",
            "currency": "USD",
            "interest_rate": "12",
            "interest_type": "compound",
            "interest_calculation": "monthly",
            "start_date": start.isoformat(),
            "emi_enabled": True,
            "emi_frequency": "monthly",
            "total_installments": 3,
            "late_fee_enabled": True,
            "late_fee_type": "fixed",
            "late_fee_amount": "25",
            "grace_period_days": 2,
            "reminder_days_before": 3,
        },
        headers=lender.headers,
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    path = f"/api/v1/loans/{loan['id']}"
    # 3,000 at 1 %/month over 3 months: EMI = 3000 * 0.01 * 1.01^3 / (1.01^3 - 1) = 1,020.07
    assert loan["emi_amount"] == "1020.07"
    schedule = (await gateway.get(f"{path}/schedule", headers=lender.headers)).json()["data"]["instalments"]
    first_due = datetime.fromisoformat(schedule[0]["due_date"]).date()

    tap = await BusTap.open(fleet, "financial.events", "loan.overdue", "loan.payment")
    try:
        await run_loan_job(fleet, first_due - timedelta(days=2))
        reminders = (await gateway.get("/api/v1/loans/reminders", headers=lender.headers)).json()["data"]
        assert [r["reminder_type"] for r in reminders] == ["upcoming"]

        late = await run_loan_job(fleet, first_due + timedelta(days=3))
        assert late["overdue"] >= 1
        got = (await gateway.get(path, headers=lender.headers)).json()["data"]
        assert got["status"] == "overdue"
        first = (await gateway.get(f"{path}/schedule", headers=lender.headers)).json()["data"]["instalments"][0]
        assert (first["status"], first["late_fee"], first["days_overdue"]) == ("overdue", "25.00", 3)
        event = await tap.wait("loan.overdue", loan_id=loan["id"])
        assert event["data"]["late_fee"] == "25.00"
        reminders = (await gateway.get(f"{path}/reminders", headers=lender.headers)).json()["data"]
        assert sorted(r["reminder_type"] for r in reminders) == ["overdue", "upcoming"]

        for who in (other,):
            for sub in ("", "/schedule", "/payments", "/reminders"):
                assert (await gateway.get(path + sub, headers=who.headers)).status_code == 404
            denied = await gateway.post(
                f"{path}/payments", json={"amount": "1", "payment_date": start.isoformat()}, headers=who.headers
            )
            assert denied.status_code == 404

        paid_day = first_due + timedelta(days=3)
        one = await gateway.post(
            f"{path}/payments",
            json={"amount": first["outstanding_amount"], "payment_date": paid_day.isoformat()},
            headers=lender.headers,
        )
        assert one.status_code == 201, one.text
        assert one.json()["data"]["late_fee_paid"] == "25.00"
        rest = Decimal((await gateway.get(path, headers=lender.headers)).json()["data"]["amount_due"])
        final = await gateway.post(
            f"{path}/payments",
            json={"amount": str(rest), "payment_date": paid_day.isoformat()},
            headers=lender.headers,
        )
        assert final.status_code == 201, final.text
        assert final.json()["data"]["remaining_balance"] == "0.00"
        done = (await gateway.get(path, headers=lender.headers)).json()["data"]
        assert (done["status"], done["amount_due"], done["total_late_fee_paid"]) == ("paid", "0.00", "25.00")
        paid_event = await tap.wait("loan.payment", loan_id=loan["id"], loan_status="paid")
        assert paid_event["data"]["direction"] == "lent"
    finally:
        await tap.close()


async def test_the_borrower_sees_a_shared_loan_and_disputes_it_with_the_lender(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    lender = await sign_up(gateway, wait_profile=False)
    borrower = await sign_up(gateway)  # the user service must know them for the e-mail lookup
    await verify_email(gateway, fleet, borrower)  # and that the address is theirs
    stranger = await sign_up(gateway, wait_profile=False)
    contact = await gateway.post(
        "/api/v1/contacts", json={"contact_type": "app_user", "email": borrower.email}, headers=lender.headers
    )
    assert contact.status_code == 201, contact.text
    assert contact.json()["data"]["linked_user_id"] == borrower.user_id
    start = datetime.now(UTC).date()
    created = await gateway.post(
        "/api/v1/loans",
        json={
            "type": "lent",
            "contact_id": contact.json()["data"]["id"],
            "principal_amount": "1200.00",
            "currency": "EUR",
            "start_date": start.isoformat(),
            "emi_enabled": True,
            "emi_frequency": "monthly",
            "total_installments": 3,
        },
        headers=lender.headers,
    )
    assert created.status_code == 201, created.text
    loan = created.json()["data"]
    path = f"/api/v1/loans/{loan['id']}"
    paid = await gateway.post(
        f"{path}/payments", json={"amount": "400.00", "payment_date": start.isoformat()}, headers=lender.headers
    )
    assert paid.status_code == 201, paid.text

    theirs = await gateway.get("/api/v1/loans", params={"role": "counterparty"}, headers=borrower.headers)
    mirrored = [(x["id"], x["role"], x["type"]) for x in theirs.json()["data"]]
    assert mirrored == [(loan["id"], "counterparty", "borrowed")]
    seen = (await gateway.get(path, headers=borrower.headers)).json()["data"]
    assert (seen["remaining_balance"], seen["contact_id"]) == ("800.00", None)
    payments = (await gateway.get(f"{path}/payments", headers=borrower.headers)).json()["data"]
    assert [p["amount"] for p in payments] == ["400.00"]
    denied = await gateway.post(
        f"{path}/payments", json={"amount": "1", "payment_date": start.isoformat()}, headers=borrower.headers
    )
    assert denied.status_code == 403
    assert (await gateway.get(path, headers=stranger.headers)).status_code == 404

    tap = await BusTap.open(fleet, "notification.events", "notification.requested")
    try:
        opened = await gateway.post(
            f"{path}/disputes",
            json={"dispute_type": "payment_not_recorded", "description": "I paid 400 more in cash"},
            headers=borrower.headers,
        )
        assert opened.status_code == 201, opened.text
        dispute = opened.json()["data"]
        assert dispute["raised_by"] == borrower.user_id
        told = await tap.wait("notification.requested", user_id=lender.user_id, reference_id=dispute["id"])
        assert told["data"]["data"]["step"] == "opened"
        steps = f"{path}/disputes/{dispute['id']}"
        refused = await gateway.post(f"{steps}/resolve", json={"resolution": "mine"}, headers=borrower.headers)
        assert refused.status_code == 403
        resolved = await gateway.post(
            f"{steps}/resolve", json={"resolution": "Cash payment recorded"}, headers=lender.headers
        )
        assert resolved.status_code == 200, resolved.text
        assert resolved.json()["data"]["resolved_by"] == lender.user_id
        told = await tap.wait("notification.requested", user_id=borrower.user_id, reference_id=dispute["id"])
        assert told["data"]["data"]["step"] == "resolved"
        listed = (await gateway.get(f"{path}/disputes", headers=borrower.headers)).json()["data"]
        assert [(d["id"], d["status"]) for d in listed] == [(dispute["id"], "resolved")]
    finally:
        await tap.close()
