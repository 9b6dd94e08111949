"""Issue 11, virtual cards, through the fleet: a person issues a card on their wallet through the gateway
(a retry with the same Idempotency-Key: one card), the sandbox issuer's signed authorisation webhook
approves a spend that moves the wallet's balance and is handed on as `account.transaction_imported`,
a frozen card is declined, a forged signature changes nothing, and a stranger gets 404 for the card.

The issuer's webhook comes through the gateway's public `accounts-webhooks` route: no user token, only
the issuer's signature, which the accounts service checks."""

import uuid
from decimal import Decimal

import httpx
import pytest
from journeys import BusTap, query, sign_up

from pfms_accounts.issuer import SandboxIssuer, sandbox_payload
from pfms_accounts.settings import Settings
from pfms_local.fleet import Fleet

pytestmark = pytest.mark.e2e

ACCOUNTS = "/api/v1/accounts"
WEBHOOK = "/api/v1/accounts/cards/webhooks/sandbox"


async def test_a_card_spends_from_its_wallet_only_while_allowed(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway, wait_profile=False)
    stranger = await sign_up(gateway, wait_profile=False)
    made = await gateway.post(
        ACCOUNTS,
        json={"name": "Spending", "type": "wallet", "currency": "USD", "opening_balance": "100.00"},
        headers=person.headers,
    )
    assert made.status_code == 201, made.text
    wallet = made.json()["data"]
    key = {**person.headers, "Idempotency-Key": str(uuid.uuid4())}
    issued = [
        await gateway.post(f"{ACCOUNTS}/{wallet['id']}/cards", json={"limit_per_transaction": "50"}, headers=key)
        for _ in range(2)
    ]
    assert [r.status_code for r in issued] == [201, 201], issued[0].text
    card = issued[0].json()["data"]
    assert issued[1].json()["data"]["id"] == card["id"] and len(card["last4"]) == 4
    assert (await gateway.get(f"{ACCOUNTS}/cards/{card['id']}", headers=stranger.headers)).status_code == 404
    [row] = await query(fleet, "accounts", "SELECT token FROM cards WHERE id = $1", uuid.UUID(card["id"]))
    issuer = SandboxIssuer(Settings.model_fields["card_sandbox_secret"].default.get_secret_value())

    tap = await BusTap.open(fleet, "financial.events", "account.transaction_imported")
    try:
        async with httpx.AsyncClient(base_url=fleet.gateway_url, timeout=15.0) as issuer_side:
            body = sandbox_payload(f"e2e-{uuid.uuid4()}", row["token"], "30.00", "USD", "Corner Cafe")
            forged = await issuer_side.post(WEBHOOK, content=body, headers=SandboxIssuer("guess").sign(body))
            assert forged.status_code == 401
            approved = await issuer_side.post(WEBHOOK, content=body, headers=issuer.sign(body))
            assert approved.status_code == 200 and approved.json()["data"]["decision"] == "approve", approved.text
            event = await tap.wait("account.transaction_imported", transaction_id=approved.json()["data"]["id"])
            assert event["data"]["source"] == "card" and event["data"]["posted"] is True
            over = sandbox_payload(f"e2e-{uuid.uuid4()}", row["token"], "50.01", "USD")
            declined = (await issuer_side.post(WEBHOOK, content=over, headers=issuer.sign(over))).json()["data"]
            assert declined["decision"] == "decline" and declined["reason"] == "over_transaction_limit"
            frozen = await gateway.post(f"{ACCOUNTS}/cards/{card['id']}/freeze", headers=person.headers)
            assert frozen.status_code == 200 and frozen.json()["data"]["status"] == "frozen"
            later = sandbox_payload(f"e2e-{uuid.uuid4()}", row["token"], "1.00", "USD")
            refused = (await issuer_side.post(WEBHOOK, content=later, headers=issuer.sign(later))).json()["data"]
            assert refused["reason"] == "card_frozen"
    finally:
        await tap.close()
    found = await gateway.get(f"{ACCOUNTS}/{wallet['id']}", headers=person.headers)
    assert Decimal(found.json()["data"]["balance"]) == Decimal("70.00")
    shown = await gateway.get(f"{ACCOUNTS}/cards/{card['id']}", headers=person.headers)
    assert shown.json()["data"]["spent_this_month"] == "30.00"
