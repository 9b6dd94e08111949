"""Issue 7 through the gateway: a rule "description contains UBER → Transportation, tag ride" makes an
expense recorded through the gateway end up categorised and tagged (automation → expense.amend_requested
→ expense), the run is in the rule's log, and the internal trigger is not reachable from outside."""

from datetime import UTC, datetime

import httpx
import pytest
from journeys import Person, sign_up

from pfms_local.fleet import wait_for

pytestmark = pytest.mark.e2e


async def categorised_person(gateway: httpx.AsyncClient) -> tuple[Person, dict[str, str]]:
    """A person signed up through auth, once the expense service has made their default categories."""
    person = await sign_up(gateway, wait_profile=False)

    async def categories() -> dict[str, str] | None:
        response = await gateway.get("/api/v1/categories", params={"limit": 100}, headers=person.headers)
        if response.status_code != 200 or not response.json()["data"]:
            return None
        return {c["name"]: c["id"] for c in response.json()["data"]}

    return person, await wait_for(categories, timeout=20, message="default categories from user.created")


async def test_a_rule_categorises_and_tags_an_expense_recorded_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    person, categories = await categorised_person(gateway)
    rule = await gateway.post(
        "/api/v1/automation/rules",
        json={
            "name": "Rides are transport",
            "trigger": {"event": "expense.created"},
            "conditions": {"all": [{"field": "description", "op": "contains", "value": "UBER"}]},
            "actions": [
                {"type": "set_category", "category_name": "Transportation"},
                {"type": "add_tags", "tags": ["ride"]},
            ],
        },
        headers=person.headers,
    )
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["data"]["id"]

    async def record(description: str) -> str:
        response = await gateway.post(
            "/api/v1/expenses",
            json={
                "amount": "18.40",
                "currency": "USD",
                "expense_date": datetime.now(UTC).date().isoformat(),
                "description": description,
            },
            headers=person.headers,
        )
        assert response.status_code == 201, response.text
        expense_id: str = response.json()["data"]["id"]
        return expense_id

    ride = await record("Uber *trip downtown")
    groceries = await record("Corner shop")

    async def categorised() -> dict | None:
        response = await gateway.get(f"/api/v1/expenses/{ride}", headers=person.headers)
        data: dict = response.json()["data"]
        return data if data["category_id"] == categories["Transportation"] and "ride" in data["tags"] else None

    await wait_for(categorised, timeout=30, message="the rule's category and tag on the expense")

    async def logged() -> list | None:
        response = await gateway.get(
            "/api/v1/automation/executions", params={"rule_id": rule_id}, headers=person.headers
        )
        runs: list = response.json()["data"]
        return runs or None

    [run] = await wait_for(logged, timeout=10, message="the rule's execution in its log")
    assert run["status"] == "succeeded" and run["input"]["data"]["expense_id"] == ride
    untouched = (await gateway.get(f"/api/v1/expenses/{groceries}", headers=person.headers)).json()["data"]
    assert untouched["category_id"] is None and untouched["tags"] == []

    stranger = await sign_up(gateway, wait_profile=False)
    assert (await gateway.get(f"/api/v1/automation/rules/{rule_id}", headers=stranger.headers)).status_code == 404
    internal = await gateway.post(
        "/internal/v1/automation/trigger",
        json={"user_id": person.user_id, "event_type": "expense.created", "data": {}},
        headers=person.headers,
    )
    assert internal.status_code == 404
