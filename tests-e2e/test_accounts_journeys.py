"""Issue 11, accounts side, through the gateway: a person opens a dollar wallet, a euro wallet and a
savings account, exchanges dollars for euros on a quote (retried with the same Idempotency-Key: one
exchange), moves money between their accounts (parallel transfers never overdraw), reconciles, and
sees their net worth move only by the exchange fee; a stranger gets 404 for every account of theirs."""

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from journeys import BusTap, Person, sign_up, verify_email

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

ACCOUNTS = "/api/v1/accounts"


async def opened(gateway: httpx.AsyncClient, person: Person, **body: Any) -> dict[str, Any]:
    made = await gateway.post(ACCOUNTS, json={"type": "wallet", **body}, headers=person.headers)
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()["data"]
    return data


async def balance(gateway: httpx.AsyncClient, person: Person, account: dict[str, Any]) -> Decimal:
    found = await gateway.get(f"{ACCOUNTS}/{account['id']}", headers=person.headers)
    assert found.status_code == 200, found.text
    return Decimal(found.json()["data"]["balance"])


async def net_worth(gateway: httpx.AsyncClient, person: Person) -> Decimal:
    worth = await gateway.get(f"{ACCOUNTS}/net-worth", params={"currency": "USD"}, headers=person.headers)
    assert worth.status_code == 200, worth.text
    data = worth.json()["data"]
    assert Decimal(data["net_worth"]) == Decimal(data["assets"]) - Decimal(data["liabilities"])
    assert data["history"][-1]["net_worth"] == data["net_worth"]
    return Decimal(data["net_worth"])


async def test_wallets_exchange_transfers_and_net_worth(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway, wait_profile=False)
    stranger = await sign_up(gateway, wait_profile=False)
    usd = await opened(gateway, person, name="Dollars", currency="USD", opening_balance="1000.00")
    eur = await opened(gateway, person, name="Euros", currency="EUR")
    savings = await opened(gateway, person, name="Savings", type="savings", currency="USD")
    assert await net_worth(gateway, person) == Decimal(1000)

    tap = await BusTap.open(fleet, "financial.events", "account.exchange_completed", "account.transfer_completed")
    try:
        quoted = await gateway.post(
            f"{ACCOUNTS}/exchanges/quotes",
            json={"from_account_id": usd["id"], "to_account_id": eur["id"], "amount": "200.00"},
            headers=person.headers,
        )
        assert quoted.status_code == 201, quoted.text
        quote = quoted.json()["data"]
        assert quote["fee"] == "1.00"
        key = {**person.headers, "Idempotency-Key": str(uuid.uuid4())}
        first, retry = [
            await gateway.post(f"{ACCOUNTS}/exchanges", json={"quote_id": quote["id"]}, headers=key) for _ in range(2)
        ]
        assert first.status_code == retry.status_code == 201, first.text
        assert retry.json()["data"] == first.json()["data"] and retry.headers["Idempotent-Replayed"] == "true"
        assert await balance(gateway, person, usd) == Decimal(800)
        assert await balance(gateway, person, eur) == Decimal(quote["buy_amount"])
        exchanged = await tap.wait("account.exchange_completed", user_id=person.user_id)
        assert Decimal(exchanged["data"]["buy_amount"]) == Decimal(quote["buy_amount"])
        # back in dollars, net worth lost the fee (and under a cent of rounding the bought euros down)
        loss = Decimal(1000) - await net_worth(gateway, person)
        assert Decimal("1.00") <= loss <= Decimal("1.02"), loss

        moves = await asyncio.gather(
            *(
                gateway.post(
                    f"{ACCOUNTS}/transfers",
                    json={"from_account_id": usd["id"], "to_account_id": savings["id"], "amount": "300.00"},
                    headers={**person.headers, "Idempotency-Key": str(uuid.uuid4())},
                )
                for _ in range(4)
            )
        )
        assert sorted(m.status_code for m in moves) == [201, 201, 422, 422], [m.text for m in moves]
        assert await balance(gateway, person, usd) == Decimal(200)
        assert await balance(gateway, person, savings) == Decimal(600)
        await tap.wait("account.transfer_completed", user_id=person.user_id, to_account_id=savings["id"])
        assert Decimal(1000) - await net_worth(gateway, person) == loss  # transfers move no wealth
    finally:
        await tap.close()

    stated = await gateway.post(
        f"{ACCOUNTS}/{savings['id']}/reconciliation",
        json={"balance": "610.00", "note": "Interest"},
        headers=person.headers,
    )
    assert stated.status_code == 201 and stated.json()["data"]["difference"] == "10.00", stated.text
    postings = (await gateway.get(f"{ACCOUNTS}/{savings['id']}/postings", headers=person.headers)).json()
    assert [p["kind"] for p in postings["data"]] == ["adjustment", "transfer", "transfer"]

    for path in (f"{ACCOUNTS}/{usd['id']}", f"{ACCOUNTS}/{usd['id']}/postings"):
        denied = await gateway.get(path, headers=stranger.headers)
        assert denied.status_code == 404 and denied.json()["error"]["code"] == "NOT_FOUND"
    theft = await gateway.post(
        f"{ACCOUNTS}/transfers",
        json={"from_account_id": usd["id"], "to_account_id": savings["id"], "amount": "1.00"},
        headers=stranger.headers,
    )
    assert theft.status_code == 404
    assert (await gateway.get(ACCOUNTS, headers=stranger.headers)).json()["pagination"]["total"] == 0
    assert await balance(gateway, person, usd) == Decimal(200)


async def test_one_user_pays_another_and_both_net_worths_move(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    """Issue 11's P2P payment: Ann pays Ben by email; Ben has one dollar wallet, so the payment lands in it by
    itself (the saga's events between the two ledgers); Ben's request back is declined; both net worths move by
    exactly the amount, and nobody else sees the payment."""
    ann = await sign_up(gateway)  # the profile (with the email) must exist for the user service's lookup
    ben = await sign_up(gateway)
    for person in (ann, ben):  # only a verified address resolves to its account
        await verify_email(gateway, fleet, person)
    stranger = await sign_up(gateway, wait_profile=False)
    ann_wallet = await opened(gateway, ann, name="Ann", currency="USD", opening_balance="250.00")
    ben_wallet = await opened(gateway, ben, name="Ben", currency="USD", opening_balance="10.00")
    tap = await BusTap.open(fleet, "financial.events", "account.payment_sent", "account.payment_received")
    try:
        key = {**ann.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"email": ben.email.upper(), "from_account_id": ann_wallet["id"], "amount": "75.50", "note": "Rent"}
        first, retry = [await gateway.post(f"{ACCOUNTS}/payments", json=body, headers=key) for _ in range(2)]
        assert first.status_code == retry.status_code == 201, first.text
        sent = first.json()["data"]
        assert retry.json()["data"]["id"] == sent["id"] and sent["status"] == "sent"
        await tap.wait("account.payment_sent", user_id=ann.user_id, payment_id=sent["id"])
        await tap.wait("account.payment_received", user_id=ben.user_id, payment_id=sent["id"])
    finally:
        await tap.close()

    async def settled() -> dict[str, Any] | None:
        seen = await gateway.get(f"{ACCOUNTS}/payments/{sent['id']}", headers=ben.headers)
        data: dict[str, Any] = seen.json()["data"]
        return data if data["status"] == "settled" else None

    theirs = await wait_for(settled, timeout=20, message="payment settled")
    assert (theirs["direction"], theirs["amount"], theirs["account_id"]) == ("in", "75.50", ben_wallet["id"])
    assert await balance(gateway, ann, ann_wallet) == Decimal("174.50")
    assert await balance(gateway, ben, ben_wallet) == Decimal("85.50")
    assert await net_worth(gateway, ann) == Decimal("174.50")
    assert await net_worth(gateway, ben) == Decimal("85.50")

    asked = await gateway.post(
        f"{ACCOUNTS}/payments/requests",
        json={"user_id": ann.user_id, "amount": "5.00", "currency": "USD"},  # a contact now: by id
        headers=ben.headers,
    )
    assert asked.status_code == 201, asked.text
    request = asked.json()["data"]
    declined = await gateway.post(f"{ACCOUNTS}/payments/{request['id']}/decline", headers=ann.headers)
    assert declined.status_code == 200 and declined.json()["data"]["status"] == "declined", declined.text
    mine = (await gateway.get(f"{ACCOUNTS}/payments", params={"direction": "out"}, headers=ann.headers)).json()
    assert [(p["id"], p["status"]) for p in mine["data"]] == [(request["id"], "declined"), (sent["id"], "settled")]
    assert (await gateway.get(f"{ACCOUNTS}/payments/{sent['id']}", headers=stranger.headers)).status_code == 404
    assert (await gateway.get(f"{ACCOUNTS}/payments", headers=stranger.headers)).json()["pagination"]["total"] == 0
    assert await net_worth(gateway, ann) == Decimal("174.50")  # a declined request moves nothing

    # Ben opens a second dollar account, so Ann's next payment waits for him to pick one; Ann takes it back
    await opened(gateway, ben, name="Ben savings", type="savings", currency="USD")
    body = {"user_id": ben.user_id, "from_account_id": ann_wallet["id"], "amount": "20.00"}
    second = (await gateway.post(f"{ACCOUNTS}/payments", json=body, headers=ann.headers)).json()["data"]
    assert await balance(gateway, ann, ann_wallet) == Decimal("154.50")  # held
    cancel = f"{ACCOUNTS}/payments/{second['id']}/cancel"
    assert (await gateway.post(cancel, headers=stranger.headers)).status_code == 404
    assert (await gateway.post(cancel, headers=ben.headers)).status_code == 403  # only the payer takes it back
    key = {**ann.headers, "Idempotency-Key": str(uuid.uuid4())}
    first, retry = [await gateway.post(cancel, headers=key) for _ in range(2)]
    assert first.status_code == retry.status_code == 200, first.text
    assert first.json()["data"]["status"] == retry.json()["data"]["status"] == "cancelled"

    async def refunded() -> dict[str, Any] | None:
        seen = await gateway.get(f"{ACCOUNTS}/payments/{second['id']}", headers=ann.headers)
        data: dict[str, Any] = seen.json()["data"]
        return data if data["status"] == "refunded" else None

    back = await wait_for(refunded, timeout=20, message="cancelled payment refunded")
    assert back["reason"] == "cancelled" and await balance(gateway, ann, ann_wallet) == Decimal("174.50")
    late = await gateway.post(cancel, headers=ann.headers)
    assert late.status_code == 409 and late.json()["error"]["code"] == "PAYMENT_STATE"
    assert await net_worth(gateway, ann) == Decimal("174.50") and await net_worth(gateway, ben) == Decimal("85.50")
