"""Expenses over HTTP: create, read, update, delete, list with filters, summaries, and their events."""

import uuid

import pytest
from pfms_expense.models import Expense

pytestmark = pytest.mark.integration

URL = "/api/v1/expenses"


async def test_create_read_update_delete_with_events(env) -> None:
    alice = await env.signup()
    groceries = await env.category_id(alice, "Groceries")
    created = await env.expense(
        alice, amount="42.5", category_id=groceries, description="Weekly shop", tags=["Food", "food", "home"],
        payment_method="card", location={"lat": 52.52, "lng": 13.4, "address": "Berlin"},
    )
    assert (created["amount"], created["currency"], created["tags"], created["source"]) == ("42.50", "USD", ["food", "home"], "manual")
    (event,) = await env.outbox("expense.created")
    assert (event["amount"], event["category_name"], event["expense_date"], event["tags"]) == (
        "42.50", "Groceries", "2026-03-10", ["food", "home"]
    )
    assert event["user_id"] == str(alice.user_id)

    got = env.data(await env.client.get(f"{URL}/{created['id']}", headers=alice.headers))
    assert got["description"] == "Weekly shop"

    patched = env.data(await env.client.patch(f"{URL}/{created['id']}", json={"amount": "50", "category_id": None}, headers=alice.headers))
    assert (patched["amount"], patched["category_id"]) == ("50.00", None)
    (update,) = await env.outbox("expense.updated")
    assert update["previous_category_id"] == groceries and update["category_id"] is None

    unchanged = await env.client.patch(f"{URL}/{created['id']}", json={"amount": "50.00"}, headers=alice.headers)
    assert unchanged.status_code == 200
    assert len(await env.outbox("expense.updated")) == 1, "a PATCH that changes nothing publishes nothing"

    gone = env.data(await env.client.delete(f"{URL}/{created['id']}", headers=alice.headers))
    assert gone["id"] == created["id"]
    (deleted,) = await env.outbox("expense.deleted")
    assert deleted["expense_id"] == created["id"]
    assert (await env.client.get(f"{URL}/{created['id']}", headers=alice.headers)).status_code == 404
