"""Bank connections end to end within the service, against the replay server: link (accounts opened at the
bank's balance, transactions imported as events), list/read with health, sync now (incremental), a
provider error that needs re-authentication (notification once), unlink; webhooks (verified, duplicate,
refused with 401 and nothing changed) that make the background job sync; ownership and bad input."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text, update

from pfms_accounts import sync
from pfms_accounts.models import Account, BankConnection, ImportedTransaction, LinkedMovement, WebhookReceipt
from pfms_contracts.expense import ExpenseCreated, ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.imported import ImportRef
from pfms_platform.testing.helpers import publish_event, until

from .conftest import NO_MARKET, Harness
from .replay import Replay, replaying
from .signing import BELVO_SECRET, PlaidSigner, belvo_body, plaid_body

BASE = "/api/v1/accounts/connections"
ITEM = "M5eVJqLnv3tbzdngLDp9FL5OlDNxlNhlE55op"
LINK = "8848bd0c-9c7e-4f53-a732-ec896b11d4c4"


@pytest.fixture
async def bank(make_service: Any, jwt_keys: Any) -> AsyncIterator[tuple[Harness, Replay]]:
    async with replaying() as replay:
        svc = await make_service(
            "accounts",
            service_urls=NO_MARKET,
            internal_attempts=1,
            plaid_host=replay.url,
            plaid_client_id="client-id",
            plaid_secret="secret",
            belvo_host=replay.url,
            belvo_secret_id="id",
            belvo_secret_password="password",
            belvo_webhook_secret=BELVO_SECRET,
            bank_sync_poll_seconds=0.1,
        )
        yield Harness(svc, jwt_keys), replay


async def imported(env: Harness) -> list[dict[str, Any]]:
    return await env.outbox("account.transaction_imported")


async def test_link_read_sync_reauth_and_unlink(bank: tuple[Harness, Replay]) -> None:
    env, replay = bank
    created = await env.post(BASE, {"provider": "plaid", "public_token": "public-sandbox-b0e2c4ee"})
    assert created.status_code == 201, created.text
    connection = created.json()["data"]
    assert (connection["status"], connection["reauth_required"], connection["last_error"]) == ("active", False, None)
    checking, card = connection["accounts"]
    assert (Decimal(checking["provider_balance"]), Decimal(card["provider_balance"])) == (Decimal("110.25"), -410)
    # Opened at the bank's balance less this sync's imports: once expense/income book them, no difference.
    assert Decimal(checking["ledger_balance"]) == Decimal("110.25") - Decimal("-72.10") - Decimal("2500")
    assert Decimal(checking["difference"]) == Decimal("-72.10") + Decimal("2500")
    assert Decimal(card["ledger_balance"]) == Decimal("-410") + Decimal("23.4")
    account = (await env.get(f"/api/v1/accounts/{checking['account_id']}")).json()["data"]
    assert (account["type"], account["currency"], account["name"]) == (
        "checking",
        "USD",
        "Plaid Gold Standard 0% Interest Checking",
    )
    assert (await env.get(f"/api/v1/accounts/{card['account_id']}")).json()["data"]["type"] == "credit_card"
    events = await imported(env)
    assert [(e["source"], e["direction"], e["amount"], e["posted"]) for e in events] == [
        ("plaid", "debit", "72.10", False),
        ("plaid", "debit", "23.40", False),
        ("plaid", "credit", "2500.00", False),
    ]  # the pending one waits for its posted version
    assert events[0]["merchant"] == "Whole Foods" and events[0]["occurred_on"] == "2026-11-20"
    assert events[0]["account_id"] == checking["account_id"] and events[1]["account_id"] == card["account_id"]
    assert [e["opening_balance"] for e in await env.outbox("account.opened")] == ["-2317.65", "-386.60"]
    assert all(v == 0 for v in (await env.ledger_sums()).values())
    async with env.svc.db.sessions() as session:
        stored = await session.get(BankConnection, uuid.UUID(connection["id"]))
        assert stored is not None and stored.access_token and stored.access_token.startswith("access-sandbox")
        raw = await session.scalar(text("SELECT access_token FROM bank_connections"))
        assert raw is not None and "access-sandbox" not in raw  # encrypted at rest

    # Reading, paging, ownership, bad input.
    listed = await env.get(BASE, page="1", limit="10")
    assert listed.json()["pagination"]["total"] == 1 and listed.json()["data"][0]["id"] == connection["id"]
    assert (await env.get(f"{BASE}/{connection['id']}")).json()["data"]["accounts"] == connection["accounts"]
    for response in (
        await env.get(f"{BASE}/{connection['id']}", env.bob),
        await env.post(f"{BASE}/{connection['id']}/sync", {}, env.bob),
        await env.delete(f"{BASE}/{connection['id']}", env.bob),
    ):
        assert response.status_code == 404, response.text
    assert (await env.get(BASE, env.bob)).json()["data"] == []
    raw_post = await env.client.post(
        BASE, content=b"{not json", headers={**env.auth(), "Content-Type": "application/json"}
    )
    assert raw_post.status_code == 400
    for body, field in (
        ({"provider": "chase", "public_token": "x"}, "provider"),
        ({"provider": "plaid", "public_token": "x", "extra": 1}, "extra"),
        ({"provider": "plaid", "public_token": ""}, "public_token"),
        ({"provider": "plaid", "public_token": 5}, "public_token"),
    ):
        refused = await env.post(BASE, body)
        assert refused.status_code == 422 and field in refused.text, refused.text
    again = await env.post(BASE, {"provider": "plaid", "public_token": "public-sandbox-b0e2c4ee"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_CONNECTED"
    assert await env.svc.count(BankConnection) == 1

    # Sync now: only what is new since the cursor (a modified transaction is not imported twice).
    synced = await env.post(f"{BASE}/{connection['id']}/sync", {})
    assert synced.status_code == 200, synced.text
    assert [e["external_id"][:4] for e in await imported(env)] == ["lPNj", "yhnU", "4WPD", "AmQ7"]
    # The modified one is handed on as revised; the removed one was pending, never imported: nothing.
    revised = await env.outbox("account.transaction_revised")
    assert [(e["external_id"][:4], e["direction"], e["amount"]) for e in revised] == [("lPNj", "debit", "72.10")]
    assert revised[0]["transaction_id"] == events[0]["transaction_id"]
    assert await env.outbox("account.transaction_removed") == []
    # Later the bank changes the Uber ride's amount, turns the payroll into a debit and drops the Whole Foods one.
    third = replay.fixture("plaid/transactions_sync_3.json")
    uber = {**replay.fixture("plaid/transactions_sync_1.json")["added"][1], "amount": 25.1, "date": "2026-11-22"}
    payroll = {**replay.fixture("plaid/transactions_sync_2.json")["added"][0], "amount": 2500}
    removed = [{"transaction_id": t} for t in ("lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje", "never-seen")]
    body = {**third, "added": [], "modified": [uber, payroll], "removed": removed, "next_cursor": "fourth"}
    replay.answer("POST", "/transactions/sync", body, cursor=third["next_cursor"])
    replay.answer("POST", "/transactions/sync", {**body, "modified": [], "removed": []}, cursor="fourth")
    assert (await env.post(f"{BASE}/{connection['id']}/sync", {})).status_code == 200
    revised = await env.outbox("account.transaction_revised")
    assert [(e["external_id"][:4], e["amount"], e["occurred_on"]) for e in revised[1:]] == [
        ("yhnU", "25.10", "2026-11-22")
    ]
    dropped = await env.outbox("account.transaction_removed")
    assert [(e["external_id"][:4], e["transaction_id"], e["account_id"]) for e in dropped] == [
        ("lPNj", events[0]["transaction_id"], checking["account_id"])
    ]
    async with env.svc.db.sessions() as session:
        ride = await session.get(ImportedTransaction, uuid.UUID(events[1]["transaction_id"]))
        assert ride is not None and (ride.amount, str(ride.occurred_on)) == (Decimal("-25.10"), "2026-11-22")
        assert await session.get(ImportedTransaction, uuid.UUID(events[0]["transaction_id"])) is not None

    # The bank needs the person to log in again: recorded, shown, told once.
    login = replay.fixture("plaid/error_item_login_required.json")
    replay.answer("POST", "/accounts/balance/get", login, status=400, times=2)
    for _ in range(2):
        failed = (await env.post(f"{BASE}/{connection['id']}/sync", {})).json()["data"]
        assert (failed["status"], failed["reauth_required"]) == ("reauth_required", True)
        assert failed["last_error"].startswith("ITEM_LOGIN_REQUIRED")
    notes = await env.outbox("notification.requested")
    assert len(notes) == 1 and notes[0]["user_id"] == str(env.alice)
    assert notes[0]["reference_id"] == connection["id"] and notes[0]["category"] == "system"
    repaired = (await env.post(f"{BASE}/{connection['id']}/sync", {})).json()["data"]
    assert (repaired["status"], repaired["last_error"]) == ("active", None)

    # Unlink: removed at Plaid, the credential forgotten, the accounts kept as manual ones.
    gone = await env.delete(f"{BASE}/{connection['id']}")
    assert gone.status_code == 200 and gone.json()["data"]["status"] == "unlinked"
    assert replay.called("/item/remove")[-1].json["access_token"].startswith("access-sandbox")
    assert (await env.get(f"/api/v1/accounts/{checking['account_id']}")).status_code == 200
    later = await env.post(f"{BASE}/{connection['id']}/sync", {})
    assert later.status_code == 422 and later.json()["error"]["code"] == "CONNECTION_UNLINKED"
    async with env.svc.db.sessions() as session:
        stored = await session.get(BankConnection, uuid.UUID(connection["id"]))
        assert stored is not None and stored.access_token is None


async def test_webhooks_verified_deduplicated_and_synced_in_the_background(bank: tuple[Harness, Replay]) -> None:
    env, replay = bank
    signer = PlaidSigner.publish(replay)
    plaid = (await env.post(BASE, {"provider": "plaid", "public_token": "public-sandbox-1"})).json()["data"]
    assert plaid["status"] == "active"
    belvo = (await env.post(BASE, {"provider": "belvo", "public_token": LINK})).json()["data"]
    assert belvo["institution"] == "erebor_mx_retail" and len(belvo["accounts"]) == 1
    assert len(await imported(env)) == 3 + 2  # Belvo: the pending OXXO waits
    url = f"{BASE}/webhooks/plaid"

    async def state() -> tuple[int, int, int]:
        return (
            await env.svc.count(WebhookReceipt),
            await env.svc.count(ImportedTransaction),
            await env.svc.count(BankConnection, BankConnection.sync_requested_at.is_not(None)),
        )

    before = await state()
    body = plaid_body(ITEM)
    for headers in (
        {},
        signer.headers(body, age=400),
        signer.headers(body, alg="HS256"),
        signer.headers(plaid_body("another-item")),
        {"Plaid-Verification": "garbage"},
    ):
        refused = await env.client.post(url, content=body, headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "WEBHOOK_UNVERIFIED"
    assert await state() == before  # nothing changed

    accepted = await env.client.post(url, content=body, headers=signer.headers(body))
    assert accepted.status_code == 200 and accepted.json()["data"] == {"received": True, "duplicate": False}
    duplicate = await env.client.post(url, content=body, headers=signer.headers(body))
    assert duplicate.json()["data"]["duplicate"] is True

    async def synced() -> bool:
        return await env.svc.count(ImportedTransaction) == before[1] + 1

    await until(synced)  # the background job ran the sync the webhook asked for
    await until(lambda: _no_pending(env))
    assert len(await imported(env)) == 6

    # No webhook for longer than bank_sync_every_hours: the job asks for a sync itself, once.
    stale = datetime.now(UTC) - timedelta(hours=7)
    async with env.svc.app.state.db.sessions() as session, session.begin():
        await session.execute(
            update(BankConnection).where(BankConnection.id == uuid.UUID(plaid["id"])).values(last_synced_at=stale)
        )
        assert await sync.request_due(session, timedelta(hours=6)) == 1  # Belvo's synced just now
        assert await sync.request_due(session, timedelta(hours=6)) == 0  # asked already
    await until(lambda: _no_pending(env))
    resynced = (await env.get(f"{BASE}/{plaid['id']}")).json()["data"]
    assert datetime.fromisoformat(resynced["last_synced_at"]) > stale + timedelta(hours=6)
    async with env.svc.app.state.db.sessions() as session, session.begin():
        assert await sync.request_due(session, timedelta(hours=6)) == 0  # fresh again

    belvo_url = f"{BASE}/webhooks/belvo"
    wrong = await env.client.post(belvo_url, content=belvo_body(LINK), headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 401
    reauth = belvo_body(LINK, "LINKS", "invalid_credentials")
    assert (
        await env.client.post(belvo_url, content=reauth, headers={"Authorization": BELVO_SECRET})
    ).status_code == 200
    shown = (await env.get(f"{BASE}/{belvo['id']}")).json()["data"]
    assert shown["reauth_required"] is True and shown["last_error"].startswith("invalid_credentials")
    assert len(await env.outbox("notification.requested")) == 1

    # A deleted person's connections go with their accounts.
    await publish_event(
        env.svc.settings.amqp_url, UserDeleted(user_id=env.alice, deleted_at=datetime.now(UTC)), source="user"
    )

    async def purged() -> bool:
        return await env.svc.count(BankConnection) == 0 and await env.svc.count(Account) == 0

    await until(purged)


async def _no_pending(env: Harness) -> bool:
    return await env.svc.count(BankConnection, BankConnection.sync_requested_at.is_not(None)) == 0


async def test_an_expense_from_an_import_already_on_the_ledger_is_not_booked_again(env: Harness) -> None:
    wallet = await env.account(opening_balance="100.00")
    ref = {"source": "card", "transaction_id": str(uuid.uuid4()), "external_id": "auth-1", "posted": True}
    facts = {"user_id": env.alice, "amount": Decimal("30.00"), "currency": "USD", "account_id": wallet["id"]}
    posted = ExpenseCreated(expense_id=uuid.uuid4(), expense_date=datetime.now(UTC).date(), **facts)
    booked = ExpenseCreated(expense_id=uuid.uuid4(), expense_date=datetime.now(UTC).date(), **facts)
    await publish_event(
        env.svc.settings.amqp_url, posted.model_copy(update={"import_ref": ImportRef(**ref)}), source="expense"
    )
    later = ExpenseUpdated(
        **{**posted.model_dump(), "amount": Decimal("31.00")},
        previous_amount=Decimal("30.00"),
        previous_expense_date=posted.expense_date,
    )
    await publish_event(env.svc.settings.amqp_url, later, source="expense")  # no import_ref: remembered
    unposted = {**ref, "source": "plaid", "external_id": "tx-1", "posted": False}
    await publish_event(
        env.svc.settings.amqp_url, booked.model_copy(update={"import_ref": ImportRef(**unposted)}), source="expense"
    )

    async def settled() -> bool:
        return await env.svc.count(LinkedMovement) == 2 and await env.balance(wallet["id"]) == Decimal("70.00")

    await until(settled)  # only the bank import's expense was booked
    async with env.svc.db.sessions() as session:
        tombstone = await session.get(LinkedMovement, f"expense:{posted.expense_id}")
        assert tombstone is not None and tombstone.deleted
