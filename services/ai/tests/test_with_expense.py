"""The ai and expense services together on one bus: an expense recorded without a category comes back
categorised (expense.created → ai → expense.categorized → expense applies it → expense.updated)."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pfms_contracts.identity import UserCreated
from pfms_platform.testing.helpers import publish_event, until

pytestmark = pytest.mark.integration


async def test_an_uncategorised_expense_comes_back_categorised(make_service, jwt_keys) -> None:
    expense = await make_service("expense")
    ai = await make_service("ai")
    user = uuid.uuid4()
    headers = jwt_keys.auth(user)
    await publish_event(
        expense.settings.amqp_url,
        UserCreated(user_id=user, email=f"{user.hex[:8]}@example.com", created_at=datetime.now(UTC)),
        source="auth",
    )
    categories: dict[str, str] = {}

    async def defaults() -> bool:
        response = await expense.client.get("/api/v1/categories", params={"limit": 100}, headers=headers)
        categories.update({c["name"]: c["id"] for c in response.json().get("data") or []})
        return "Taxi & Rideshare" in categories

    await until(defaults, timeout=20)
    created = await expense.client.post(
        "/api/v1/expenses",
        json={
            "amount": "18.40",
            "currency": "USD",
            "expense_date": date.today().isoformat(),
            "description": "UBER *TRIP",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    expense_id = created.json()["data"]["id"]
    row: dict[str, Any] = {}

    async def categorised() -> bool:
        response = await expense.client.get(f"/api/v1/expenses/{expense_id}", headers=headers)
        row.update(response.json()["data"])
        return row.get("category_id") is not None

    await until(categorised, timeout=30)
    assert row["category_id"] == categories["Taxi & Rideshare"]

    async def echoed() -> bool:
        doc = await ai.app.state.store.db.expenses.find_one({"_id": expense_id})
        return bool(doc and doc.get("category_by") == "ai")

    await until(echoed, timeout=30)  # expense.updated came back and is not taken for a correction
    assert await ai.app.state.store.db.category_rules.count_documents({}) == 0
