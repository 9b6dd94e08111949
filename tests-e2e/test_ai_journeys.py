"""Issue 8 (ai) through the gateway: an expense recorded without a category becomes categorised over the
bus (expense.created → the ai service's model → expense.categorized → the expense service applies it),
the ai endpoints answer from the caller's own data, and another user sees none of it."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from journeys import BusTap, sign_up

from pfms_contracts.expense import ExpenseCategorized
from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


async def test_an_uncategorised_expense_is_categorised_through_the_bus(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    person = await sign_up(gateway, wait_profile=False)
    stranger = await sign_up(gateway, wait_profile=False)

    async def categories() -> dict[str, str] | None:
        response = await gateway.get("/api/v1/categories", params={"limit": 100}, headers=person.headers)
        found = {c["name"]: c["id"] for c in response.json()["data"]} if response.status_code == 200 else {}
        return found if "Taxi & Rideshare" in found else None

    names = await wait_for(categories, timeout=20, message="default categories from user.created")
    tap = await BusTap.open(fleet, ExpenseCategorized.exchange, ExpenseCategorized.type)
    try:
        created = await gateway.post(
            "/api/v1/expenses",
            json={
                "amount": "18.40",
                "currency": "USD",
                "expense_date": datetime.now(UTC).date().isoformat(),
                "description": "UBER *TRIP HELP.UBER.COM",
            },
            headers=person.headers,
        )
        assert created.status_code == 201, created.text
        expense = created.json()["data"]
        assert expense["category_id"] is None

        event = await tap.wait("expense.categorized", timeout=30, expense_id=expense["id"])
        assert event["data"]["category_name"] == "Taxi & Rideshare"
        assert Decimal(event["data"]["confidence"]) >= Decimal("0.4")
    finally:
        await tap.close()

    async def categorised() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/v1/expenses/{expense['id']}", headers=person.headers)
        data: dict[str, Any] = response.json()["data"]
        return data if data.get("category_id") else None

    applied = await wait_for(categorised, timeout=30, message="expense.categorized applied by the expense service")
    assert applied["category_id"] == names["Taxi & Rideshare"]

    guess = await gateway.post(
        "/api/v1/ai/categorize",
        json={"description": "NETFLIX.COM", "amount": "15.49", "currency": "USD"},
        headers=person.headers,
    )
    assert guess.status_code == 200, guess.text
    assert guess.json()["data"]["category"] == "Subscriptions"

    async def answered() -> dict[str, Any] | None:
        response = await gateway.post(
            "/api/v1/ai/chat", json={"message": "How much did I spend this month?"}, headers=person.headers
        )
        data: dict[str, Any] = response.json()["data"]
        return data if data["data"].get("total") == "18.40" else None

    answer = await wait_for(answered, timeout=30, message="the ai read model holds the expense")
    assert "18.40 USD" in answer["answer"]
    theirs = await gateway.post(
        "/api/v1/ai/chat", json={"message": "How much did I spend this month?"}, headers=stranger.headers
    )
    assert theirs.json()["data"]["data"]["total"] == "0.00"
    assert (await gateway.get("/api/v1/ai/insights", headers=stranger.headers)).json()["data"] == []
    assert (await gateway.get("/internal/v1/export", params={"user_id": person.user_id})).status_code == 404
    assert (await gateway.post("/api/v1/ai/categorize", json={})).status_code == 401
