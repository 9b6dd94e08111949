"""Accounts over HTTP: open with an opening balance, list, read, change, archive or delete, postings,
reconciliation; ownership (another user's account is a 404), bad input and the events written."""

import uuid
from decimal import Decimal

import pytest

from pfms_accounts.models import Account, JournalEntry
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import publish_event, until

from .conftest import Harness

pytestmark = pytest.mark.integration


async def test_an_opening_balance_is_booked_against_the_books_edge(env: Harness) -> None:
    account = await env.account(
        name="Checking", type="checking", currency="EUR", opening_balance="1250.5", institution="Sparkasse"
    )
    assert account["balance"] == "1250.50" and account["opening_balance"] == "1250.50"
    assert account["institution"] == "Sparkasse" and account["archived"] is False
    postings = (await env.get(f"/api/v1/accounts/{account['id']}/postings")).json()
    assert [(p["kind"], p["amount"], p["balance_after"]) for p in postings["data"]] == [
        ("opening", "1250.50", "1250.50")
    ]
    assert await env.ledger_sums() == {"EUR": 0}
    listed = (await env.get("/api/v1/accounts")).json()
    assert [a["id"] for a in listed["data"]] == [account["id"]]  # the counter-account is never listed
    opened = await env.outbox("account.opened")
    assert opened[0]["account_id"] == account["id"] and Decimal(opened[0]["opening_balance"]) == Decimal("1250.5")


async def test_types_links_and_overdraft_rules(env: Harness) -> None:
    loan_id, portfolio_id = str(uuid.uuid4()), str(uuid.uuid4())
    await env.account(type="loan", loan_id=loan_id, opening_balance="-5000")
    await env.account(type="investment", portfolio_id=portfolio_id)
    wallet = await env.account(overdraft_limit="50", opening_balance="-50")
    assert wallet["overdraft_limit"] == "50.00" and wallet["balance"] == "-50.00"
    for body, where in [
        ({"type": "checking", "overdraft_limit": "5"}, "overdraft_limit"),
        ({"type": "checking", "loan_id": loan_id}, "loan_id"),
        ({"type": "wallet", "portfolio_id": portfolio_id}, "portfolio_id"),
        ({"type": "wallet", "opening_balance": "-0.01"}, "opening_balance"),
        ({"type": "external"}, "type"),
        ({"type": "wallet", "currency": "XYZ"}, "currency"),
        ({"type": "wallet", "opening_balance": "1.001"}, "opening_balance"),
        ({"type": "wallet", "colour": "red"}, "colour"),
        ({"type": "wallet", "opening_balance": "lots"}, "opening_balance"),
    ]:
        response = await env.post("/api/v1/accounts", {"name": "X", "currency": "USD", **body})
        assert response.status_code == 422, (body, response.text)
        assert where in {d["field"].split(".")[-1] for d in response.json()["error"]["details"]}, response.text
    malformed = await env.client.post(
        "/api/v1/accounts", content=b"{nope", headers={**env.auth(), "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert await env.svc.count(Account, Account.type != "external") == 3


async def test_change_archive_and_delete(env: Harness) -> None:
    used = await env.account(opening_balance="10")
    empty = await env.account(name="Empty")
    changed = await env.patch(f"/api/v1/accounts/{used['id']}", {"name": "Daily", "overdraft_limit": "20"})
    assert changed.status_code == 200 and changed.json()["data"]["name"] == "Daily"
    refused = await env.patch(f"/api/v1/accounts/{used['id']}", {"currency": "EUR"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"].endswith("currency")
    archived = await env.delete(f"/api/v1/accounts/{used['id']}")
    assert archived.status_code == 200 and archived.json()["data"]["archived"] is True
    assert (await env.get(f"/api/v1/accounts/{used['id']}")).status_code == 200  # kept for its history
    assert (await env.get("/api/v1/accounts")).json()["pagination"]["total"] == 1
    assert (await env.get("/api/v1/accounts", include_archived="true")).json()["pagination"]["total"] == 2
    deleted = await env.delete(f"/api/v1/accounts/{empty['id']}")
    assert deleted.status_code == 200
    assert (await env.get(f"/api/v1/accounts/{empty['id']}")).status_code == 404
    assert [e["account_id"] for e in await env.outbox("account.archived")] == [used["id"]]
    moved = await env.post(f"/api/v1/accounts/{used['id']}/reconciliation", {"balance": "5"})
    assert moved.status_code == 422 and moved.json()["error"]["code"] == "ACCOUNT_ARCHIVED"
    back = await env.patch(f"/api/v1/accounts/{used['id']}", {"archived": False})
    assert back.json()["data"]["archived"] is False


async def test_another_users_account_is_not_found(env: Harness) -> None:
    mine = await env.account(opening_balance="100")
    theirs = await env.account(env.bob, opening_balance="100")
    for method, path, body in [
        ("GET", f"/api/v1/accounts/{theirs['id']}", None),
        ("PATCH", f"/api/v1/accounts/{theirs['id']}", {"name": "Mine now"}),
        ("DELETE", f"/api/v1/accounts/{theirs['id']}", None),
        ("GET", f"/api/v1/accounts/{theirs['id']}/postings", None),
        ("GET", f"/api/v1/accounts/{theirs['id']}/reconciliation?balance=1", None),
        ("POST", f"/api/v1/accounts/{theirs['id']}/reconciliation", {"balance": "1"}),
        (
            "POST",
            "/api/v1/accounts/transfers",
            {"from_account_id": theirs["id"], "to_account_id": mine["id"], "amount": "1"},
        ),
        (
            "POST",
            "/api/v1/accounts/transfers",
            {"from_account_id": mine["id"], "to_account_id": theirs["id"], "amount": "1"},
        ),
    ]:
        response = await env.client.request(method, path, json=body, headers=env.auth())
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert await env.balance(theirs["id"], env.bob) == Decimal(100)
    assert await env.balance(mine["id"]) == Decimal(100)
    assert (await env.client.get("/api/v1/accounts")).status_code == 401


async def test_postings_page_newest_first(env: Harness) -> None:
    a = await env.account(opening_balance="100")
    b = await env.account(name="Other")
    for amount in ("1", "2", "3"):
        assert (await env.transfer(a["id"], b["id"], amount)).status_code == 201
    page = (await env.get(f"/api/v1/accounts/{a['id']}/postings", limit=2)).json()
    assert [p["amount"] for p in page["data"]] == ["-3.00", "-2.00"]
    assert [p["balance_after"] for p in page["data"]] == ["94.00", "97.00"]
    assert page["pagination"] == {"page": 1, "limit": 2, "total": 4, "pages": 2, "has_next": True}
    assert (await env.get(f"/api/v1/accounts/{a['id']}/postings", limit=101)).status_code == 422


async def test_reconciliation_shows_then_books_the_difference(env: Harness) -> None:
    house = await env.account(name="House", type="property", opening_balance="300000")
    shown = (await env.get(f"/api/v1/accounts/{house['id']}/reconciliation", balance="312500")).json()["data"]
    assert shown["difference"] == "12500.00" and shown["entry_id"] is None
    unstated = await env.get(f"/api/v1/accounts/{house['id']}/reconciliation")
    assert unstated.status_code == 422 and unstated.json()["error"]["details"][0]["field"] == "balance"
    assert await env.balance(house["id"]) == Decimal(300000)
    booked = await env.post(
        f"/api/v1/accounts/{house['id']}/reconciliation", {"balance": "312500", "note": "Valuation"}
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["data"]["entry_id"] and booked.json()["data"]["book_balance"] == "300000.00"
    assert await env.balance(house["id"]) == Decimal(312500)
    same = await env.post(f"/api/v1/accounts/{house['id']}/reconciliation", {"balance": "312500"})
    assert same.json()["data"]["entry_id"] is None  # nothing left to book
    adjusted = await env.outbox("account.balance_adjusted")
    assert [Decimal(e["difference"]) for e in adjusted] == [Decimal(12500)]
    assert await env.ledger_sums() == {"USD": 0}


async def test_profile_currency_and_deletion_arrive_as_events(env: Harness) -> None:
    await env.account(opening_balance="10")
    await env.account(env.bob, opening_balance="10")
    url = env.svc.settings.amqp_url
    await publish_event(
        url, UserUpdated(user_id=env.alice, section="profile", changes={"currency": "eur"}), source="user"
    )
    await publish_event(url, UserDeleted(user_id=env.alice, deleted_at="2026-11-26T10:00:00Z"), source="auth")

    async def purged() -> bool:
        return await env.svc.count(Account, Account.user_id == env.alice) == 0

    await until(purged)
    assert await env.svc.count(JournalEntry, JournalEntry.user_id == env.alice) == 0
    assert await env.svc.count(Account, Account.user_id == env.bob) == 2  # bob's wallet and counter-account


async def test_the_export_holds_the_persons_rows_only(env: Harness) -> None:
    mine = await env.account(opening_balance="10")
    await env.account(env.bob, opening_balance="20")
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    response = await env.client.get(
        "/internal/v1/export", params={"user_id": str(env.alice)}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    tables = response.json()["data"]["tables"]
    assert {a["id"] for a in tables["accounts"] if a["type"] != "external"} == {mine["id"]}
    assert {p["user_id"] for p in tables["postings"]} == {str(env.alice)} and len(tables["postings"]) == 2
    assert (await env.client.get("/internal/v1/export", params={"user_id": str(env.alice)})).status_code == 401
