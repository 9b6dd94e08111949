"""P2P payments through the API, with the real user service for emails and the saga's events on the real
bus: pay → accept → settled on both ledgers, decline → refund, requests, contacts, idempotency, other
people's payments (404) and the wrong side's actions (403), then the failures the saga compensates
(the payee's account closed between accept and delivery, expiry, the payee deleted) and parallel
payments out of one wallet."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from pfms_accounts import payments
from pfms_accounts.models import Account
from pfms_contracts.identity import UserCreated, UserDeleted
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import publish_event, served, until

from .conftest import NO_MARKET, Harness

pytestmark = pytest.mark.integration

PAYMENTS = "/api/v1/accounts/payments"


@pytest.fixture
async def env(make_service, jwt_keys) -> AsyncIterator[Harness]:
    """Accounts with the user service over loopback; Alice and Bob registered there (alice@ / bob@)."""
    users = await make_service("user")
    alice, bob = uuid.uuid4(), uuid.uuid4()
    for who, email in ((alice, "alice@example.com"), (bob, "Bob@Example.com")):
        await publish_event(
            users.settings.amqp_url,
            UserCreated(user_id=who, email=email, email_verified=True, created_at=datetime.now(UTC)),
            source="auth",
        )

    async def known() -> bool:
        for who in (alice, bob):
            if (await users.client.get("/api/v1/user/profile", headers=jwt_keys.auth(who))).status_code != 200:
                return False
        return True

    await until(known, timeout=20)
    async with served(users.app) as url:
        svc = await make_service("accounts", service_urls={**NO_MARKET, "user": url}, internal_attempts=1)
        yield Harness(svc, jwt_keys, alice=alice, bob=bob)


async def payment(env: Harness, payment_id: str, user: uuid.UUID | None = None) -> dict[str, Any]:
    response = await env.get(f"{PAYMENTS}/{payment_id}", user)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def reaches(env: Harness, payment_id: str, status: str) -> dict[str, Any]:
    async def check() -> bool:
        return (await payment(env, payment_id))["status"] == status

    await until(check)
    return await payment(env, payment_id)


async def send(env: Harness, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    response = await env.post(PAYMENTS, body, key=key)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_pay_accept_decline_request_and_auto_accept(env: Harness) -> None:
    carol = uuid.uuid4()
    wallet = await env.account(opening_balance="100")
    bobs = await env.account(env.bob, name="Bob wallet")
    savings = await env.account(env.bob, name="Bob savings", type="savings")
    body = {"email": "bob@example.com", "from_account_id": wallet["id"], "amount": "30", "note": "Dinner"}

    # bad input changes nothing
    raw = await env.client.post(PAYMENTS, content=b"{nope", headers={**env.auth(), "Content-Type": "application/json"})
    assert raw.status_code == 400
    for bad, field in [
        ({**body, "tip": 1}, "tip"),
        ({**body, "amount": "ten"}, "amount"),
        ({**body, "amount": "1.234"}, "amount"),
        ({**body, "user_id": str(env.bob)}, "body"),  # both ways of naming the payee
        ({**body, "email": "nobody@example.com"}, "email"),
        ({**body, "email": "alice@example.com"}, "email"),  # oneself
        ({**body, "user_id": str(env.bob), "email": None}, "user_id"),  # not a contact yet
        ({**body, "amount": "500"}, "amount"),  # INSUFFICIENT_FUNDS
    ]:
        response = await env.post(PAYMENTS, bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["details"][0]["field"] == field, (bad, response.text)
    assert (await env.post(PAYMENTS, {**body, "from_account_id": bobs["id"]})).status_code == 404  # not hers
    assert await env.balance(wallet["id"]) == 100

    # pay by email: held at once, waits for Bob (two receiving accounts of USD)
    sent = await send(env, body, key="pay-1")
    assert (sent["status"], sent["direction"], sent["amount"], sent["account_id"]) == (
        "sent",
        "out",
        "30.00",
        wallet["id"],
    )
    again = await env.post(PAYMENTS, body, key="pay-1")
    assert again.json()["data"]["id"] == sent["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = await env.post(PAYMENTS, {**body, "amount": "31"}, key="pay-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await env.balance(wallet["id"]) == 70

    async def told(what: str, user: uuid.UUID) -> bool:
        return any(
            n["data"]["event"] == what and n["user_id"] == str(user) for n in await env.outbox("notification.requested")
        )

    await until(lambda: told("incoming", env.bob))
    incoming = (await env.get(PAYMENTS, env.bob, direction="in")).json()
    assert [p["id"] for p in incoming["data"]] == [sent["id"]] and incoming["data"][0]["status"] == "sent"
    assert incoming["data"][0]["account_id"] is None  # Alice's account is not shown to Bob
    assert (await env.get(PAYMENTS, env.bob, direction="out")).json()["data"] == []
    assert (await env.get(f"{PAYMENTS}/{sent['id']}", carol)).status_code == 404
    assert (await env.post(f"{PAYMENTS}/{sent['id']}/accept", {"account_id": wallet["id"]})).status_code == 403
    refused = await env.post(f"{PAYMENTS}/{sent['id']}/accept", {"account_id": wallet["id"]}, env.bob)
    assert refused.status_code == 404  # Alice's account is not Bob's to accept into

    accepted = await env.post(f"{PAYMENTS}/{sent['id']}/accept", {"account_id": bobs["id"]}, env.bob, key="acc-1")
    assert accepted.status_code == 200 and accepted.json()["data"]["status"] == "accepted", accepted.text
    settled = await reaches(env, sent["id"], "settled")
    assert settled["settled_at"] is not None
    assert await env.balance(bobs["id"], env.bob) == 30 and await env.balance(wallet["id"]) == 70
    assert (await payment(env, sent["id"], env.bob))["status"] == "settled"  # both sides see the same
    late = await env.post(f"{PAYMENTS}/{sent['id']}/decline", {}, env.bob)
    assert late.status_code == 409 and late.json()["error"]["code"] == "PAYMENT_STATE"
    assert await told("received", env.bob)
    kinds = {e["data"]["payment_id"] for e in await env.svc.outbox("account.payment_received")}
    assert kinds == {sent["id"]}

    # Bob is a contact now: pay by user id; Bob declines → the hold comes back
    second = await send(env, {"user_id": str(env.bob), "from_account_id": wallet["id"], "amount": "20"})
    assert await env.balance(wallet["id"]) == 50
    declined = await env.post(f"{PAYMENTS}/{second['id']}/decline", {}, env.bob)
    assert declined.json()["data"]["status"] == "declined", declined.text
    refunded = await reaches(env, second["id"], "refunded")
    assert refunded["reason"] == "declined" and await env.balance(wallet["id"]) == 70

    # a request: Bob asks, Alice declines; Bob asks again, Alice pays; Bob's only USD account takes it at once
    assert (await env.delete(f"/api/v1/accounts/{savings['id']}", env.bob)).status_code == 200  # no postings: gone
    ask = {"user_id": str(env.alice), "amount": "15", "currency": "USD", "note": "Taxi"}
    first = (await env.post(f"{PAYMENTS}/requests", ask, env.bob)).json()["data"]
    assert (first["status"], first["direction"], first["initiated_by"]) == ("requested", "in", "payee")
    assert (await env.post(f"{PAYMENTS}/{first['id']}/decline", {}, env.bob)).status_code == 403  # Alice decides
    assert (await env.post(f"{PAYMENTS}/{first['id']}/decline", {})).json()["data"]["status"] == "declined"
    assert await told("declined", env.bob)
    asked = (await env.post(f"{PAYMENTS}/requests", ask, env.bob, key="ask-2")).json()["data"]
    paid = await env.post(f"{PAYMENTS}/{asked['id']}/pay", {"from_account_id": wallet["id"]}, key="pay-2")
    assert paid.status_code == 200 and paid.json()["data"]["status"] == "sent", paid.text
    await reaches(env, asked["id"], "settled")
    assert await env.balance(wallet["id"]) == 55 and await env.balance(bobs["id"], env.bob) == 45
    assert await told("requested", env.alice)

    # lists, filters and contacts from each side
    out = (await env.get(PAYMENTS, direction="out", status="settled")).json()
    assert out["pagination"]["total"] == 2 and {p["id"] for p in out["data"]} == {sent["id"], asked["id"]}
    assert (await env.get(PAYMENTS, status="refunded")).json()["data"][0]["id"] == second["id"]
    assert (await env.get(PAYMENTS, direction="sideways")).status_code == 422
    contacts = (await env.get(f"{PAYMENTS}/contacts", env.bob)).json()
    assert [c["user_id"] for c in contacts["data"]] == [str(env.alice)]
    assert (await env.get(f"{PAYMENTS}/contacts", carol)).json()["data"] == []
    assert await env.ledger_sums() == {"USD": 0}
    # in flight nothing: every clearing account is back at zero
    async with env.svc.db.sessions() as session:
        clearing = (await session.scalars(select(Account).where(Account.type == "clearing"))).all()
        assert len(clearing) == 1 and clearing[0].balance == 0
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    exported = await env.client.get(
        "/internal/v1/export", params={"user_id": str(env.bob)}, headers={"Authorization": f"Bearer {token}"}
    )
    assert len(exported.json()["data"]["tables"]["payments"]) == 4  # Bob is the payee of all four


async def test_failures_are_compensated_and_parallel_payments_never_overdraw(env: Harness) -> None:
    wallet = await env.account(opening_balance="100")
    closing = await env.account(env.bob, name="Closing")
    await env.account(env.bob, name="Other")
    await env.account(env.bob, name="Third")  # still two open after the close: nothing lands by itself

    # the payee's account is closed between the accept and the delivery → failed, refunded
    first = await send(env, {"email": "bob@example.com", "from_account_id": wallet["id"], "amount": "40"})
    await until(lambda: _status_is(env, first["id"], "sent"))
    async with env.svc.db.sessions() as session, session.begin():
        await session.execute(update(Account).where(Account.id == uuid.UUID(closing["id"])).values(archived=True))
        accepted = await env.post(f"{PAYMENTS}/{first['id']}/accept", {"account_id": closing["id"]}, env.bob)
        assert accepted.status_code == 200, accepted.text  # the close was not committed yet
    failed = await reaches(env, first["id"], "refunded")
    assert failed["reason"] == "account_unavailable" and await env.balance(wallet["id"]) == 100
    assert [e["data"]["reason"] for e in await env.svc.outbox("account.payment_failed")] == ["account_unavailable"]
    refund = (await env.svc.outbox("account.payment_refunded"))[0]["data"]
    assert refund["payer_account_id"] == wallet["id"] and Decimal(refund["amount"]) == 40

    # unanswered: a sent payment fails and is refunded, a request expires
    second = await send(env, {"user_id": str(env.bob), "from_account_id": wallet["id"], "amount": "10"})
    ask = {"user_id": str(env.alice), "amount": "5", "currency": "USD"}
    asked = (await env.post(f"{PAYMENTS}/requests", ask, env.bob)).json()["data"]
    await until(lambda: _status_is(env, second["id"], "sent"))  # its `payment_sent` step is done (no row lock)
    assert await payments.expire_due(env.svc.db, datetime.now(UTC) + timedelta(hours=1)) == 0
    assert await payments.expire_due(env.svc.db, datetime.now(UTC) + timedelta(days=8)) == 2
    assert (await reaches(env, second["id"], "refunded"))["reason"] == "expired"
    assert (await payment(env, asked["id"]))["status"] == "expired"
    assert await env.balance(wallet["id"]) == 100

    # ten payments of 30 at once out of 100: exactly three pass, the wallet never below zero
    body = {"user_id": str(env.bob), "from_account_id": wallet["id"], "amount": "30"}
    answers = await asyncio.gather(*(env.post(PAYMENTS, body, key=f"par-{i}") for i in range(10)))
    assert sorted(r.status_code for r in answers) == [201] * 3 + [422] * 7
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 422} == {"INSUFFICIENT_FUNDS"}
    assert await env.balance(wallet["id"]) == 10

    # Bob is deleted with three payments held for him: each goes back to Alice, his rows go
    await publish_event(
        env.svc.settings.amqp_url, UserDeleted(user_id=env.bob, deleted_at=datetime.now(UTC)), source="auth"
    )

    async def refunded() -> bool:
        return await env.balance(wallet["id"]) == 100

    await until(refunded)
    assert (await env.get(PAYMENTS)).json()["data"] == []
    assert [e["data"]["reason"] for e in await env.svc.outbox("account.payment_refunded")][-3:] == ["user_deleted"] * 3
    assert await env.ledger_sums() == {"USD": 0}


async def _status_is(env: Harness, payment_id: str, status: str) -> bool:
    """The status, once the `payment_sent` step ran (the incoming notice is written by it)."""
    notices = [n for n in await env.outbox("notification.requested") if n["reference_id"] == payment_id]
    if not notices:
        return False
    return (await payment(env, payment_id))["status"] == status


async def test_cancel_before_acceptance_and_its_race_with_accept(env: Harness) -> None:
    wallet = await env.account(opening_balance="100")
    bobs = await env.account(env.bob, name="Bob wallet")
    await env.account(env.bob, name="Bob checking", type="checking")  # two accounts: Bob picks, nothing lands alone
    stranger = uuid.uuid4()

    # the payer takes a sent payment back: the hold returns as after a decline, Bob is told
    sent = await send(env, {"email": "bob@example.com", "from_account_id": wallet["id"], "amount": "25"})
    await until(lambda: _status_is(env, sent["id"], "sent"))
    assert await env.balance(wallet["id"]) == 75
    assert (await env.post(f"{PAYMENTS}/{sent['id']}/cancel", {}, stranger)).status_code == 404
    assert (await env.post(f"{PAYMENTS}/{sent['id']}/cancel", {}, env.bob)).status_code == 403  # not Bob's to take
    cancelled = await env.post(f"{PAYMENTS}/{sent['id']}/cancel", {}, key="cancel-1")
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled", cancelled.text
    again = await env.post(f"{PAYMENTS}/{sent['id']}/cancel", {}, key="cancel-1")
    assert again.json()["data"]["status"] == "cancelled" and again.headers["Idempotent-Replayed"] == "true"
    refunded = await reaches(env, sent["id"], "refunded")
    assert refunded["reason"] == "cancelled" and await env.balance(wallet["id"]) == 100
    [event] = await env.outbox("account.payment_cancelled")
    assert (event["payment_id"], event["user_id"], event["held"]) == (sent["id"], str(env.alice), True)
    assert [e["data"]["reason"] for e in await env.svc.outbox("account.payment_refunded")] == ["cancelled"]
    notices = [n for n in await env.outbox("notification.requested") if n["data"]["event"] == "cancelled"]
    assert [n["user_id"] for n in notices] == [str(env.bob)]
    for late in ("cancel", "accept"):  # ended: a 409 in the envelope, nothing moves
        answer = await env.post(
            f"{PAYMENTS}/{sent['id']}/{late}",
            {"account_id": bobs["id"]} if late == "accept" else {},
            env.bob if late == "accept" else None,
        )
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "PAYMENT_STATE", answer.text

    # a request is taken back by who asked (Bob); Alice, asked, may only decline it
    ask = {"user_id": str(env.alice), "amount": "5", "currency": "USD"}
    asked = (await env.post(f"{PAYMENTS}/requests", ask, env.bob)).json()["data"]
    assert (await env.post(f"{PAYMENTS}/{asked['id']}/cancel", {})).status_code == 403
    withdrawn = await env.post(f"{PAYMENTS}/{asked['id']}/cancel", {}, env.bob)
    assert withdrawn.json()["data"]["status"] == "cancelled", withdrawn.text
    assert (await env.post(f"{PAYMENTS}/{asked['id']}/pay", {"from_account_id": wallet["id"]})).status_code == 409

    # cancel and accept at once: exactly one wins, the other is a 409, and the money ends on one side only
    for round_ in range(3):
        racing = await send(env, {"user_id": str(env.bob), "from_account_id": wallet["id"], "amount": "10"})
        await until(lambda pid=racing["id"]: _status_is(env, pid, "sent"))
        cancel, accept = await asyncio.gather(
            env.post(f"{PAYMENTS}/{racing['id']}/cancel", {}, key=f"race-cancel-{round_}"),
            env.post(
                f"{PAYMENTS}/{racing['id']}/accept", {"account_id": bobs["id"]}, env.bob, key=f"race-acc-{round_}"
            ),
        )
        assert sorted([cancel.status_code, accept.status_code]) == [200, 409], (cancel.text, accept.text)
        await reaches(env, racing["id"], "refunded" if cancel.status_code == 200 else "settled")
    assert await env.balance(wallet["id"]) + await env.balance(bobs["id"], env.bob) == 100
    assert await env.ledger_sums() == {"USD": 0}


async def test_a_burst_of_sends_and_deliveries_between_the_same_people_never_fails(env: Harness) -> None:
    """Both pay each other at once while each other's deliveries land in the same wallets: the code before the
    one lock order failed here (PostgreSQL chose sends as deadlock victims)."""
    alices = await env.account(opening_balance="200")
    bobs = await env.account(env.bob, name="Bob wallet", opening_balance="200")  # the only account: lands alone
    first = await send(env, {"email": "bob@example.com", "from_account_id": alices["id"], "amount": "1"})
    await reaches(env, first["id"], "settled")  # Bob is Alice's contact now, and she is his once he pays
    sends = [
        (env.bob, {"user_id": str(env.alice), "from_account_id": bobs["id"], "amount": str(3 + i % 5)})
        if i % 2
        else (env.alice, {"user_id": str(env.bob), "from_account_id": alices["id"], "amount": str(2 + i % 7)})
        for i in range(30)
    ]
    answers = await asyncio.gather(
        *(env.post(PAYMENTS, body, who, key=f"burst-{i}") for i, (who, body) in enumerate(sends))
    )
    assert [r.status_code for r in answers if r.status_code != 201] == [], [
        r.text for r in answers if r.status_code >= 500
    ]

    async def all_settled() -> bool:
        listed = (await env.get(PAYMENTS, limit="100")).json()["data"]
        return len(listed) == 31 and all(p["status"] == "settled" for p in listed)

    await until(all_settled, timeout=60)
    assert await env.balance(alices["id"]) + await env.balance(bobs["id"], env.bob) == 400
    assert await env.ledger_sums() == {"USD": 0}
    async with env.svc.db.sessions() as session:
        clearing = (await session.scalars(select(Account).where(Account.type == "clearing"))).all()
        assert [c.balance for c in clearing] == [0, 0]
