"""The counterparty's side: the app user a loan's contact is linked to reads the loan mirrored, cannot change
it (403), takes part in its disputes, and loses access when the owner unlinks the contact or they are deleted.
A third user gets 404 on everything."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from pfms_contracts.identity import UserDeleted
from pfms_loan.models import Contact, Loan, LoanPayment
from pfms_platform.testing.helpers import publish_event, until

pytestmark = pytest.mark.integration

READS = ("", "/schedule", "/payments", "/activities", "/disputes")


async def shared_loan(env, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alice lends to her contact linked to Bob; one payment recorded. Returns (contact, loan)."""
    made = await env.post("/api/v1/contacts", {"contact_type": "app_user", "linked_user_id": str(env.bob)})
    assert made.status_code == 201, made.text
    contact = made.json()["data"]
    loan = await env.loan(contact_id=contact["id"], **overrides)
    paid = await env.post(f"/api/v1/loans/{loan['id']}/payments", {"amount": "8884.88", "payment_date": "2026-02-15"})
    assert paid.status_code == 201, paid.text
    return contact, loan


async def test_counterparty_reads_the_loan_mirrored(env) -> None:
    _, loan = await shared_loan(env)
    path = f"/api/v1/loans/{loan['id']}"
    seen = (await env.get(path, env.bob)).json()["data"]
    assert (seen["role"], seen["type"], seen["contact_id"], seen["metadata"]) == ("counterparty", "borrowed", None, {})
    assert seen["remaining_balance"] == loan_remaining(await env.get(path))
    own = (await env.get(path)).json()["data"]
    assert (own["role"], own["type"]) == ("owner", "lent")
    for sub in READS:
        assert (await env.get(path + sub, env.bob)).status_code == 200, sub
    noted = await env.client.patch(path, json={"metadata": {"note": "private"}}, headers=env.auth())
    assert noted.status_code == 200, noted.text
    owners_log = (await env.get(f"{path}/activities")).json()["data"]
    assert owners_log[0]["new_value"] == {"meta": {"note": "private"}}
    theirs = (await env.get(f"{path}/activities", env.bob)).json()["data"]
    assert theirs[0]["new_value"] == {} and theirs[0]["activity_type"] == "loan_updated"
    schedule = (await env.get(f"{path}/schedule", env.bob)).json()["data"]
    assert len(schedule["instalments"]) == 12 and schedule["instalments"][0]["status"] == "paid"
    payments = (await env.get(f"{path}/payments", env.bob)).json()["data"]
    assert [p["amount"] for p in payments] == ["8884.88"]

    mine = await env.loan(env.bob, type="borrowed")
    listed = (await env.get("/api/v1/loans", env.bob)).json()
    assert listed["pagination"]["total"] == 2
    assert {(x["id"], x["role"], x["type"]) for x in listed["data"]} == {
        (loan["id"], "counterparty", "borrowed"),
        (mine["id"], "owner", "borrowed"),
    }
    ids = lambda r: [x["id"] for x in r.json()["data"]]  # noqa: E731
    assert ids(await env.get("/api/v1/loans", env.bob, role="counterparty")) == [loan["id"]]
    assert ids(await env.get("/api/v1/loans", env.bob, role="owner")) == [mine["id"]]
    assert ids(await env.get("/api/v1/loans", env.bob, role="counterparty", type="lent")) == []
    assert ids(await env.get("/api/v1/loans", env.alice, role="counterparty")) == []
    assert ids(await env.get("/api/v1/loans", env.alice, type="lent")) == [loan["id"]]
    bad = await env.get("/api/v1/loans", env.bob, role="lender")
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "role"


def loan_remaining(response: Any) -> str:
    value: str = response.json()["data"]["remaining_balance"]
    return value


async def test_counterparty_writes_are_403_and_a_stranger_gets_404(env) -> None:
    _, loan = await shared_loan(env)
    path = f"/api/v1/loans/{loan['id']}"
    carol = uuid.uuid4()
    writes = [
        ("PATCH", path, {"reason": "mine now"}),
        ("PATCH", path, {"status": "cancelled"}),
        ("POST", f"{path}/payments", {"amount": "10", "payment_date": "2026-02-20"}),
    ]
    for method, url, body in writes:
        answer = await env.client.request(method, url, json=body, headers=env.auth(env.bob))
        assert answer.status_code == 403, (url, answer.text)
        assert (await env.client.request(method, url, json=body, headers=env.auth(carol))).status_code == 404
    assert (await env.get(f"{path}/reminders", env.bob)).status_code == 403
    for sub in (*READS, "/reminders"):
        assert (await env.get(path + sub, carol)).status_code == 404, sub
    assert (await env.get("/api/v1/loans", carol)).json()["pagination"]["total"] == 0
    opened = await env.post(f"{path}/disputes", {"dispute_type": "x", "description": "y"}, carol)
    assert opened.status_code == 404
    got = (await env.get(path)).json()["data"]
    assert (got["status"], got["reason"]) == ("active", None)
    assert await env.count(LoanPayment) == 1


async def test_disputes_between_both_parties_notify_the_other(env) -> None:
    _, loan = await shared_loan(env)
    path = f"/api/v1/loans/{loan['id']}/disputes"
    opened = await env.post(path, {"dispute_type": "amount", "description": "It was 90,000"}, env.bob)
    assert opened.status_code == 201, opened.text
    dispute = opened.json()["data"]
    assert (dispute["raised_by"], dispute["status"]) == (str(env.bob), "open")
    notes = await env.outbox("notification.requested")
    assert [(n["user_id"], n["data"]["step"]) for n in notes] == [(str(env.alice), "opened")]
    assert notes[0]["reference_id"] == dispute["id"] and notes[0]["category"] == "loan"

    steps = f"{path}/{dispute['id']}"
    follow_up = await env.post(f"{steps}/respond", {"message": "See my bank statement"}, env.bob)
    assert follow_up.json()["data"]["status"] == "open"
    answered = await env.post(f"{steps}/respond", {"message": "The transfer says 100,000"})
    assert answered.json()["data"]["status"] == "responded"
    assert [r["role"] for r in answered.json()["data"]["responses"]] == ["counterparty", "owner"]
    assert (await env.post(f"{steps}/resolve", {"resolution": "agreed"}, env.bob)).status_code == 403
    assert (await env.post(f"{steps}/resolve", {"resolution": "agreed"}, uuid.uuid4())).status_code == 404
    assert (await env.post(f"{steps}/respond", {"message": "x"}, uuid.uuid4())).status_code == 404
    resolved = await env.post(f"{steps}/resolve", {"resolution": "100,000 stands"})
    data = resolved.json()["data"]
    assert (data["status"], data["resolved_by"], data["resolution"]) == ("resolved", str(env.alice), "100,000 stands")
    seen = (await env.get(path, env.bob)).json()["data"]
    assert [(d["id"], d["status"]) for d in seen] == [(dispute["id"], "resolved")]

    by_owner = await env.post(path, {"dispute_type": "terms", "description": "Late again"})
    assert by_owner.json()["data"]["raised_by"] == str(env.alice)
    notes = await env.outbox("notification.requested")
    assert [(n["user_id"], n["data"]["step"]) for n in notes] == [
        (str(env.alice), "opened"),
        (str(env.alice), "answered"),
        (str(env.bob), "answered"),
        (str(env.bob), "resolved"),
        (str(env.bob), "opened"),
    ]
    assert len({n["dedupe_key"] for n in notes}) == 5
    log = (await env.get(f"/api/v1/loans/{loan['id']}/activities", env.bob)).json()["data"]
    kinds = [a["activity_type"] for a in log]
    assert kinds.count("dispute_opened") == 2 and "dispute_resolved" in kinds


async def test_unlinking_the_contact_ends_the_counterpartys_access(env) -> None:
    contact, loan = await shared_loan(env)
    path = f"/api/v1/loans/{loan['id']}"
    assert (await env.get(path, env.bob)).status_code == 200
    unlinked = await env.client.delete(f"/api/v1/contacts/{contact['id']}/link", headers=env.auth())
    assert unlinked.status_code == 200, unlinked.text
    after = unlinked.json()["data"]
    assert (after["contact_type"], after["linked_user_id"], after["name"]) == ("external", None, "Former app user")
    link = f"/api/v1/contacts/{contact['id']}/link"
    assert (await env.client.delete(link, headers=env.auth())).status_code == 200
    assert (await env.client.delete(link, headers=env.auth(env.bob))).status_code == 404
    for sub in READS:
        assert (await env.get(path + sub, env.bob)).status_code == 404, sub
    assert (await env.get("/api/v1/loans", env.bob)).json()["pagination"]["total"] == 0
    assert (await env.get(path)).json()["data"]["contact_id"] == contact["id"]


async def test_counterpartys_deletion_ends_access_and_keeps_the_owners_loan(env) -> None:
    _, loan = await shared_loan(env)
    await env.post(f"/api/v1/loans/{loan['id']}/disputes", {"dispute_type": "x", "description": "y"}, env.bob)
    await env.loan(env.bob)
    event = UserDeleted(user_id=env.bob, deleted_at=datetime.now(UTC))
    await publish_event(env.svc.settings.amqp_url, event, source="auth")

    async def purged() -> bool:
        return await env.count(Loan, Loan.user_id == env.bob) == 0

    await until(purged, timeout=20)
    assert await env.count(Contact, Contact.linked_user_id == env.bob) == 0
    assert await env.count(Loan, Loan.user_id == env.alice) == 1
    assert (await env.get(f"/api/v1/loans/{loan['id']}", env.bob)).status_code == 401  # a deleted account's token
    kept = (await env.get(f"/api/v1/loans/{loan['id']}/disputes")).json()["data"]
    assert [d["raised_by"] for d in kept] == [str(env.bob)]
