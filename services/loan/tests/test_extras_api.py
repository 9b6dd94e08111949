"""Loan templates, disputes, and the purge of a deleted user's rows on `user.deleted` from the bus."""

from datetime import UTC, datetime

import pytest

from pfms_contracts.identity import UserDeleted
from pfms_loan.models import Contact, Loan, LoanActivity, LoanTemplate, PaymentReminder
from pfms_platform.testing.helpers import publish_event, until

pytestmark = pytest.mark.integration


async def test_template_fills_a_new_loan_and_counts_its_use(env) -> None:
    made = await env.post(
        "/api/v1/loans/templates",
        {
            "template_name": "Family EMI",
            "type": "lent",
            "default_amount": "12000",
            "currency": "usd",
            "interest_rate": "10",
            "interest_type": "simple",
            "emi_frequency": "monthly",
            "total_installments": 12,
        },
    )
    assert made.status_code == 201, made.text
    template = made.json()["data"]
    assert template["currency"] == "USD"
    assert (
        await env.post("/api/v1/loans/templates", {"template_name": "Family EMI", "type": "lent"})
    ).status_code == 409
    bad = await env.post(
        "/api/v1/loans/templates", {"template_name": "X", "type": "lent", "interest_rate": "5", "interest_type": "none"}
    )
    assert bad.status_code == 422
    loan = await env.post(
        "/api/v1/loans", {"template_id": template["id"], "start_date": "2026-01-15", "amortisation": "flat"}
    )
    assert loan.status_code == 201, loan.text
    data = loan.json()["data"]
    assert (data["type"], data["principal_amount"], data["emi_amount"]) == ("lent", "12000.00", "1100.00")
    got = (await env.get(f"/api/v1/loans/templates/{template['id']}")).json()["data"]
    assert got["usage_count"] == 1 and got["last_used_at"]
    missing = await env.post("/api/v1/loans", {"start_date": "2026-01-15", "principal_amount": "5", "currency": "USD"})
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "type"
    assert (await env.get(f"/api/v1/loans/templates/{template['id']}", env.bob)).status_code == 404
    other = await env.post("/api/v1/loans", {"template_id": template["id"], "start_date": "2026-01-15"}, env.bob)
    assert other.status_code == 404
    renamed = await env.client.patch(
        f"/api/v1/loans/templates/{template['id']}", json={"template_name": "Kin"}, headers=env.auth()
    )
    assert renamed.json()["data"]["template_name"] == "Kin"
    assert (await env.client.delete(f"/api/v1/loans/templates/{template['id']}", headers=env.auth())).status_code == 204


async def test_dispute_on_a_loan_with_no_app_user_is_the_owners_record(env) -> None:
    loan = await env.loan()
    path = f"/api/v1/loans/{loan['id']}/disputes"
    opened = await env.post(path, {"dispute_type": "payment_not_recorded", "description": "I paid cash on 3 Feb"})
    assert opened.status_code == 201, opened.text
    dispute = opened.json()["data"]
    assert dispute["status"] == "open" and dispute["raised_by"] == str(env.alice)
    assert (await env.post(path, {"dispute_type": "x", "description": ""})).status_code == 422
    answered = await env.post(f"{path}/{dispute['id']}/respond", {"message": "Found the receipt"})
    # the raiser's own follow-up is kept; only the other party's answer makes it `responded`
    assert answered.json()["data"]["status"] == "open"
    assert answered.json()["data"]["responses"][0]["message"] == "Found the receipt"
    assert (await env.post(f"{path}/{dispute['id']}/resolve", {"resolution": "ok"}, env.bob)).status_code == 404
    resolved = await env.post(f"{path}/{dispute['id']}/resolve", {"resolution": "Payment recorded"})
    assert resolved.json()["data"]["status"] == "resolved" and resolved.json()["data"]["resolved_at"]
    assert (await env.post(f"{path}/{dispute['id']}/respond", {"message": "again"})).status_code == 409
    assert (await env.get(path)).json()["pagination"]["total"] == 1
    kinds = [a["activity_type"] for a in (await env.get(f"/api/v1/loans/{loan['id']}/activities")).json()["data"]]
    assert {"dispute_opened", "dispute_responded", "dispute_resolved", "loan_created"} <= set(kinds)
    assert await env.outbox("notification.requested") == []  # nobody else to tell


async def test_user_deleted_purges_every_row_of_that_user_only(env) -> None:
    contact = (await env.post("/api/v1/contacts", {"contact_type": "external", "name": "A"})).json()["data"]
    await env.loan(contact_id=contact["id"])
    await env.post("/api/v1/loans/templates", {"template_name": "T", "type": "lent"})
    await env.run_job(env.svc.settings.clock_date.replace(month=2, day=14))
    await env.loan(env.bob)
    assert await env.count(PaymentReminder) == 1
    event = UserDeleted(user_id=env.alice, deleted_at=datetime.now(UTC))
    await publish_event(env.svc.settings.amqp_url, event, source="auth")
    await publish_event(env.svc.settings.amqp_url, event, source="auth")

    async def purged() -> bool:
        return await env.count(Loan, Loan.user_id == env.alice) == 0

    await until(purged, timeout=20)
    for model in (Contact, LoanTemplate, PaymentReminder, LoanActivity):
        assert await env.count(model, model.user_id == env.alice) == 0
    assert await env.count(Loan, Loan.user_id == env.bob) == 1
