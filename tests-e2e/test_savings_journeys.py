"""Issue 7, savings side, through the gateway: a goal fed by a round-up of an expense recorded in the
expense service and by a share of income recorded in the income service (the savings service learns
both from the bus), a manual contribution that reaches the target (goal.achieved once), its progress,
the emergency-fund recommendation from the person's own spending, and a stranger's 404."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from journeys import BusTap, Person, settle, sign_up

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

GOALS = "/api/v1/savings/goals"


async def saved(gateway: httpx.AsyncClient, person: Person, goal_id: str, amount: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        goal = (await gateway.get(f"{GOALS}/{goal_id}", headers=person.headers)).json()["data"]
        return goal if goal["saved_amount"] == amount else None

    found: dict[str, Any] = await wait_for(reached, timeout=20, message=f"goal saved {amount}")
    return found


async def test_a_goal_fed_by_round_ups_income_and_a_contribution(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway, wait_profile=False)
    today = datetime.now(UTC).date()
    created = await gateway.post(
        GOALS,
        json={
            "name": "Emergency fund",
            "category": "emergency_fund",
            "target_amount": "500.00",
            "currency": "USD",
            "target_date": (today + timedelta(days=365)).isoformat(),
        },
        headers=person.headers,
    )
    assert created.status_code == 201, created.text
    goal_id = created.json()["data"]["id"]
    for rule in (
        {"name": "Round to 10", "kind": "round_up", "round_up_unit": "10"},
        {"name": "10 % of pay", "kind": "income_percent", "percent": "10"},
    ):
        made = await gateway.post("/api/v1/savings/rules", json={"goal_id": goal_id, **rule}, headers=person.headers)
        assert made.status_code == 201, made.text

    tap = await BusTap.open(fleet, "financial.events", "goal.achieved", "goal.milestone_reached")
    try:
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=5)
        spent = await gateway.post(
            "/api/v1/expenses",
            json={"amount": "1212.34", "currency": "USD", "expense_date": last_month.isoformat(), "description": "x"},
            headers=person.headers,
        )
        assert spent.status_code == 201, spent.text
        await saved(gateway, person, goal_id, "7.66")

        paid = await gateway.post(
            "/api/v1/income/transactions",
            json={"amount": "1500.00", "currency": "USD", "type": "salary", "date": today.isoformat()},
            headers=person.headers,
        )
        assert paid.status_code == 201, paid.text
        await saved(gateway, person, goal_id, "157.66")
        await tap.wait("goal.milestone_reached", goal_id=goal_id, milestone_percent=25)

        topped = await gateway.post(
            f"{GOALS}/{goal_id}/contribute", json={"amount": "400", "note": "bonus"}, headers=person.headers
        )
        assert topped.status_code == 201, topped.text
        achieved = await tap.wait("goal.achieved", goal_id=goal_id)
        assert achieved["data"]["user_id"] == person.user_id and achieved["data"]["saved_amount"] == "557.66"
        taken = await gateway.post(f"{GOALS}/{goal_id}/withdraw", json={"amount": "100"}, headers=person.headers)
        assert taken.status_code == 201, taken.text
        again = await gateway.post(f"{GOALS}/{goal_id}/contribute", json={"amount": "100"}, headers=person.headers)
        assert again.status_code == 201, again.text
        await settle()
        events = await tap.drain()
        reached = sorted(e["data"].get("milestone_percent", 100) for e in events if e["data"]["goal_id"] == goal_id)
        assert reached == [25, 50, 75, 100], "each threshold announced once"
    finally:
        await tap.close()

    progress = (await gateway.get(f"{GOALS}/{goal_id}/progress", headers=person.headers)).json()["data"]
    assert (progress["percentage"], progress["achieved"], progress["on_track"]) == ("111.53", True, True)
    assert progress["contributions"] == 5

    fund = await gateway.get("/api/v1/savings/recommendations/emergency-fund", headers=person.headers)
    assert fund.status_code == 200, fund.text
    usd = fund.json()["data"]["by_currency"][0]
    assert (usd["currency"], usd["monthly_expenses"], usd["saved"]) == ("USD", "1212.34", "557.66")

    stranger = await sign_up(gateway, wait_profile=False)
    for path in (f"{GOALS}/{goal_id}", f"{GOALS}/{goal_id}/progress"):
        assert (await gateway.get(path, headers=stranger.headers)).status_code == 404
    refused = await gateway.post(f"{GOALS}/{goal_id}/contribute", json={"amount": "1"}, headers=stranger.headers)
    assert refused.status_code == 404
    assert date.fromisoformat(progress["as_of"]) == today
