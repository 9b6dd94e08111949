"""Virtual cards over HTTP: issue on a wallet, ownership, limits, freeze and close; the issuer's signed
authorisation webhook approving and booking (once), declining, refusing bad signatures, never
overdrawing under parallel authorisations; the expense recorded from a spend not booked twice; purge."""

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Text, select, type_coerce

from pfms_accounts.card_models import Card, CardAuthorisation
from pfms_accounts.cards import luhn_valid
from pfms_accounts.issuer import SandboxIssuer, sandbox_payload
from pfms_accounts.models import JournalEntry
from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted
from pfms_contracts.identity import UserDeleted
from pfms_platform.events.tables import InboxEvent
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import publish_event, until

from .conftest import Harness

pytestmark = pytest.mark.integration

WEBHOOK = "/api/v1/accounts/cards/webhooks/sandbox"


class Issuer:
    """The sandbox issuer's side: it knows the card tokens and signs what it sends."""

    def __init__(self, env: Harness) -> None:
        self.env = env
        self.sandbox = SandboxIssuer(env.svc.settings.card_sandbox_secret.get_secret_value())

    async def token(self, card_id: str) -> str:
        async with self.env.svc.db.sessions() as session:
            token = await session.scalar(select(Card.token).where(Card.id == uuid.UUID(card_id)))
        assert token is not None
        return token

    async def send(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        signed = self.sandbox.sign(body) if headers is None else headers
        return await self.env.client.post(WEBHOOK, content=body, headers=signed)

    async def spend(self, card_id: str, amount: str, auth_id: str | None = None, **kw: Any) -> dict[str, Any]:
        body = sandbox_payload(auth_id or str(uuid.uuid4()), await self.token(card_id), amount, "USD", **kw)
        response = await self.send(body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


async def issue(env: Harness, wallet_id: str, user: uuid.UUID | None = None, **body: Any) -> httpx.Response:
    return await env.post(f"/api/v1/accounts/{wallet_id}/cards", body, user, key=str(uuid.uuid4()))


async def test_cards_are_issued_on_wallets_shown_by_last_four_and_owned(env: Harness) -> None:
    wallet = await env.account(opening_balance="100")
    path = f"/api/v1/accounts/{wallet['id']}/cards"
    first = await env.post(path, {"label": "Online", "limit_per_month": "250"}, key="card-1")
    again = await env.post(path, {"label": "Online", "limit_per_month": "250"}, key="card-1")
    assert first.status_code == again.status_code == 201, first.text
    card = first.json()["data"]
    assert again.json()["data"] == card and again.headers["Idempotent-Replayed"] == "true"
    assert set(card) >= {"id", "last4", "expiry_month", "expiry_year", "status", "spent_this_month"}
    assert card["status"] == "active" and card["limit_per_month"] == "250.00" and card["limit_per_transaction"] is None
    assert card["currency"] == "USD" and card["spent_this_month"] == "0.00"
    async with env.svc.db.sessions() as session:  # the number and CVV are encrypted at rest
        raw_pan, raw_cvv = (
            await session.execute(select(type_coerce(Card.pan, Text), type_coerce(Card.cvv, Text)))
        ).one()
        row = await session.scalar(select(Card))
    assert row is not None and luhn_valid(row.pan) and row.pan.endswith(card["last4"]) and len(row.cvv) == 3
    assert raw_pan.startswith("v1:") and row.pan not in raw_pan and row.cvv not in raw_cvv
    shown = (await env.get(f"/api/v1/accounts/cards/{card['id']}")).text
    assert row.pan not in shown and row.pan[:12] not in shown
    listed = await env.get(path)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["data"]] == [card["id"]]
    assert (await env.get(path, status="frozen")).json()["data"] == []
    # another user's wallet or card is a 404, and changes nothing
    assert (await issue(env, wallet["id"], env.bob)).status_code == 404
    assert (await env.get(path, env.bob)).status_code == 404
    for response in (
        await env.get(f"/api/v1/accounts/cards/{card['id']}", env.bob),
        await env.post(f"/api/v1/accounts/cards/{card['id']}/freeze", {}, env.bob),
        await env.patch(f"/api/v1/accounts/cards/{card['id']}/limits", {"limit_per_month": None}, env.bob),
        await env.delete(f"/api/v1/accounts/cards/{card['id']}", env.bob),
    ):
        assert response.status_code == 404
    # bad input names the field and issues nothing
    savings = await env.account(name="Savings", type="savings")
    refused = await issue(env, savings["id"])
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "NOT_A_WALLET"
    invalid: list[tuple[dict[str, Any], str]] = [({"limit_per_month": "-5"}, "limit_per_month"), ({"pin": "1"}, "pin")]
    for body, field in invalid:
        bad = await env.post(path, body, key=str(uuid.uuid4()))
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == field, bad.text
    bad = await env.post(path, {"limit_per_transaction": "0.001"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "limit_per_transaction"
    malformed = await env.client.post(path, content=b"{", headers={**env.auth(), "Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert await env.svc.count(Card) == 1
    issued = await env.outbox("card.issued")
    assert [(e["card_id"], e["last4"]) for e in issued] == [(card["id"], card["last4"])]
    assert all(row.pan not in str(e) for e in issued)
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    exported = await env.client.get(
        "/internal/v1/export", params={"user_id": str(env.alice)}, headers={"Authorization": f"Bearer {token}"}
    )
    [card_row] = exported.json()["data"]["tables"]["cards"]
    assert card_row["last4"] == card["last4"] and "pan" not in card_row and "cvv" not in card_row
    assert row.pan not in exported.text


async def test_authorisations_approve_book_once_and_decline_with_reasons(env: Harness) -> None:
    wallet = await env.account(opening_balance="100")
    card = (await issue(env, wallet["id"], limit_per_transaction="40", limit_per_month="60")).json()["data"]
    issuer = Issuer(env)
    approved = await issuer.spend(card["id"], "30", auth_id="auth-1", merchant="Coffee Bar")
    assert approved["decision"] == "approve" and approved["reason"] is None and approved["external_id"] == "auth-1"
    assert await env.balance(wallet["id"]) == Decimal(70)
    # a redelivery gets the same answer and books nothing
    assert await issuer.spend(card["id"], "30", auth_id="auth-1", merchant="Coffee Bar") == approved
    assert await env.balance(wallet["id"]) == Decimal(70)
    [event] = await env.outbox("account.transaction_imported")
    assert event["transaction_id"] == approved["id"] and event["account_id"] == wallet["id"]
    assert (event["source"], event["direction"], event["posted"], Decimal(event["amount"])) == (
        "card",
        "debit",
        True,
        Decimal(30),
    )
    assert event["merchant"] == event["description"] == "Coffee Bar" and event["currency"] == "USD"
    # bad, stale or missing signatures: 401, nothing read or written
    before = await env.svc.count(CardAuthorisation)
    body = sandbox_payload("auth-2", await issuer.token(card["id"]), "5", "USD")
    refusals: list[dict[str, str]] = [{}, SandboxIssuer("guess").sign(body), issuer.sandbox.sign(body, 1_000_000_000)]
    for headers in refusals:
        response = await issuer.send(body, headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "BAD_SIGNATURE"
    assert await env.svc.count(CardAuthorisation) == before and await env.balance(wallet["id"]) == Decimal(70)
    assert (await env.client.post(WEBHOOK.replace("sandbox", "nobody"), content=body)).status_code == 404
    unknown = sandbox_payload("auth-3", "sbx_nobody", "5", "USD")
    assert (await issuer.send(unknown)).status_code == 404
    malformed = await issuer.send(b"{}")
    assert malformed.status_code == 422 and await env.svc.count(CardAuthorisation) == before
    # limits, funds, freeze, close
    assert (await issuer.spend(card["id"], "40.01"))["reason"] == "over_transaction_limit"
    assert (await issuer.spend(card["id"], "30.01"))["reason"] == "over_monthly_limit"
    raised = await env.patch(
        f"/api/v1/accounts/cards/{card['id']}/limits", {"limit_per_month": None, "limit_per_transaction": "500"}
    )
    assert raised.status_code == 200 and raised.json()["data"]["limit_per_month"] is None
    assert (
        raised.json()["data"]["limit_per_transaction"] == "500.00"
        and raised.json()["data"]["spent_this_month"] == "30.00"
    )
    assert (await issuer.spend(card["id"], "70.01"))["reason"] == "insufficient_funds"
    frozen = await env.post(f"/api/v1/accounts/cards/{card['id']}/freeze", {})
    assert frozen.status_code == 200 and frozen.json()["data"]["status"] == "frozen"
    assert (await issuer.spend(card["id"], "1"))["reason"] == "card_frozen"
    assert (await env.post(f"/api/v1/accounts/cards/{card['id']}/unfreeze", {})).json()["data"]["status"] == "active"
    assert (await issuer.spend(card["id"], "70"))["decision"] == "approve"
    assert await env.balance(wallet["id"]) == Decimal(0)
    closed = await env.delete(f"/api/v1/accounts/cards/{card['id']}")
    assert closed.status_code == 200 and closed.json()["data"]["status"] == "closed"
    assert (await issuer.spend(card["id"], "1"))["reason"] == "card_closed"
    assert (await env.post(f"/api/v1/accounts/cards/{card['id']}/unfreeze", {})).json()["error"][
        "code"
    ] == "CARD_CLOSED"
    assert [e["card_id"] for e in await env.outbox("card.frozen")] == [card["id"]]
    assert len(await env.outbox("card.closed")) == 1 and len(await env.outbox("account.transaction_imported")) == 2
    assert await env.svc.count(JournalEntry, JournalEntry.kind == "expense") == 2
    assert await env.ledger_sums() == {"USD": 0}


async def test_parallel_authorisations_never_overdraw_and_the_returning_expense_books_nothing(env: Harness) -> None:
    wallet = await env.account(opening_balance="100", overdraft_limit="20")
    card = (await issue(env, wallet["id"])).json()["data"]
    issuer = Issuer(env)
    answers = await asyncio.gather(*(issuer.spend(card["id"], "10", merchant="Shop") for _ in range(30)))
    decisions = [a["decision"] for a in answers]
    assert decisions.count("approve") == 12, decisions
    assert {a["reason"] for a in answers if a["decision"] == "decline"} == {"insufficient_funds"}
    assert await env.balance(wallet["id"]) == Decimal(-20)
    # The expense service records a spend as an expense on the wallet: its expense.created books nothing here.
    url, today = env.svc.settings.amqp_url, datetime.now(UTC).date()
    expense_id = uuid.uuid4()
    facts: dict[str, Any] = {"user_id": env.alice, "currency": "USD", "expense_date": today, "description": "Shop"}
    wallet_id = uuid.UUID(wallet["id"])
    await publish_event(
        url, ExpenseCreated(**facts, expense_id=expense_id, amount=Decimal(10), account_id=wallet_id), source="expense"
    )
    await publish_event(
        url, ExpenseDeleted(**facts, expense_id=expense_id, amount=Decimal(10), account_id=wallet_id), source="expense"
    )
    other = await env.account(name="Cash", type="cash")  # an ordinary expense after them: the queue drained
    await publish_event(
        url,
        ExpenseCreated(**facts, expense_id=uuid.uuid4(), amount=Decimal(1), account_id=uuid.UUID(other["id"])),
        source="expense",
    )

    async def handled() -> bool:
        return await env.svc.count(InboxEvent) == 3

    await until(handled)
    assert await env.balance(other["id"]) == Decimal(-1)
    assert await env.balance(wallet["id"]) == Decimal(-20)
    assert await env.svc.count(CardAuthorisation, CardAuthorisation.expense_id == expense_id) == 1
    assert await env.ledger_sums() == {"USD": 0}
    # a different day does not match a spend: booked like any expense
    stray = ExpenseCreated(
        **{**facts, "expense_date": date(2020, 1, 1)}, expense_id=uuid.uuid4(), amount=Decimal(10), account_id=wallet_id
    )
    await publish_event(url, stray, source="expense")

    async def booked() -> bool:
        return await env.balance(wallet["id"]) == Decimal(-30)

    await until(booked)
    await publish_event(url, UserDeleted(user_id=env.alice, deleted_at=datetime.now(UTC)), source="user")

    async def purged() -> bool:
        return await env.svc.count(Card) == 0 and await env.svc.count(CardAuthorisation) == 0

    await until(purged)
