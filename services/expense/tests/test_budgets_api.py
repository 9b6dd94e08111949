"""Budgets: spent/remaining/percentage from expenses, rollover, and `budget.threshold_reached` once
per threshold per period, on create, update and delete of expenses."""

import uuid
from datetime import timedelta

import pytest

from pfms_expense.models import Budget, BudgetCrossing
from pfms_expense.scheduler import today_utc

pytestmark = pytest.mark.integration

URL = "/api/v1/budgets"


def budget(**fields) -> dict:
    start = today_utc().replace(day=1)
    return {
        "name": "Food",
        "amount": "100.00",
        "currency": "USD",
        "period": "monthly",
        "start_date": start.isoformat(),
        **fields,
    }


async def crossings(env) -> list[tuple[int, str]]:
    return [(e["threshold_percent"], e["spent"]) for e in await env.outbox("budget.threshold_reached")]


async def test_thresholds_are_announced_once_per_period(env) -> None:
    alice = await env.signup()
    food = await env.category_id(alice, "Food & Dining")
    groceries = await env.category_id(alice, "Groceries")
    made = env.data(await env.client.post(URL, json=budget(category_id=food), headers=alice.headers))
    assert made["current"]["spent"] == "0.00" and made["alert_thresholds"] == [50, 80, 100]
    today = today_utc().isoformat()

    first = await env.expense(alice, amount="45.00", category_id=groceries, expense_date=today)
    assert await crossings(env) == []
    await env.expense(alice, amount="10.00", category_id=groceries, expense_date=today)
    assert await crossings(env) == [(50, "55.00")], "sub-categories count"
    await env.expense(alice, amount="99.00", expense_date=today)  # uncategorised: not this budget
    await env.expense(alice, amount="99.00", category_id=groceries, currency="EUR", expense_date=today)
    assert await crossings(env) == [(50, "55.00")]

    # Editing an expense up crosses 80 %; deleting it and re-adding never re-announces.
    await env.client.patch(f"/api/v1/expenses/{first['id']}", json={"amount": "70.00"}, headers=alice.headers)
    assert await crossings(env) == [(50, "55.00"), (80, "80.00")]
    await env.client.delete(f"/api/v1/expenses/{first['id']}", headers=alice.headers)
    await env.expense(alice, amount="70.00", category_id=groceries, expense_date=today)
    assert await crossings(env) == [(50, "55.00"), (80, "80.00")]

    # Moving an expense into the category by an edit counts too.
    other = await env.expense(alice, amount="30.00", expense_date=today)
    await env.client.patch(f"/api/v1/expenses/{other['id']}", json={"category_id": groceries}, headers=alice.headers)
    assert await crossings(env) == [(50, "55.00"), (80, "80.00"), (100, "110.00")]
    event = (await env.outbox("budget.threshold_reached"))[-1]
    assert (event["budget_id"], event["percent_used"], event["budget_amount"], event["category_id"]) == (
        made["id"],
        "110.00",
        "100.00",
        food,
    )
    status = env.data(await env.client.get(f"{URL}/{made['id']}/status", headers=alice.headers))
    assert (status["spent"], status["remaining"], status["percent_used"], status["thresholds_reached"]) == (
        "110.00",
        "-10.00",
        "110.00",
        [50, 80, 100],
    )
    assert await env.count(BudgetCrossing, BudgetCrossing.budget_id == uuid.UUID(made["id"])) == 3


async def test_overall_budget_with_rollover_and_a_new_budget_already_past_a_threshold(env) -> None:
    alice = await env.signup()
    this_month = today_utc().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    await env.expense(alice, amount="60.00", expense_date=last_month.isoformat())
    await env.expense(alice, amount="90.00", expense_date=this_month.isoformat())
    made = env.data(
        await env.client.post(
            URL,
            json=budget(name="All", start_date=last_month.isoformat(), rollover=True, alert_thresholds=[75, 100]),
            headers=alice.headers,
        )
    )
    current = made["current"]
    assert (current["rollover_amount"], current["available"], current["spent"], current["percent_used"]) == (
        "40.00",
        "140.00",
        "90.00",
        "64.29",
    )
    past = env.data(
        await env.client.get(f"{URL}/{made['id']}/status", params={"on": last_month.isoformat()}, headers=alice.headers)
    )
    assert (past["rollover_amount"], past["spent"], past["thresholds_reached"]) == ("0.00", "60.00", [])
    assert await crossings(env) == []
    tight = env.data(await env.client.post(URL, json=budget(name="Tight", amount="50"), headers=alice.headers))
    assert tight["current"]["thresholds_reached"] == [50, 80, 100]
    assert sorted(await crossings(env)) == [(50, "90.00"), (80, "90.00"), (100, "90.00")], "alerted on creation"


async def test_custom_period_update_and_validation(env) -> None:
    alice = await env.signup()
    today = today_utc()
    for body, field in [
        (budget(period="custom"), "end_date"),
        (budget(period="daily"), "period"),
        (budget(end_date=(today - timedelta(days=400)).isoformat()), "end_date"),
        (budget(alert_thresholds=[0]), "alert_thresholds.0"),
        (budget(amount="-1"), "amount"),
        (budget(category_id=str(uuid.uuid4())), "category_id"),
        (budget(currency="usd1"), "currency"),
    ]:
        response = await env.client.post(URL, json=body, headers=alice.headers)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == field, response.text
    assert await env.count(Budget) == 0
    trip = env.data(
        await env.client.post(
            URL,
            json=budget(
                name="Trip",
                period="custom",
                start_date=today.isoformat(),
                end_date=(today + timedelta(days=9)).isoformat(),
                alert_thresholds=[90, 90, 50],
            ),
            headers=alice.headers,
        )
    )
    assert trip["current"]["period_end"] == (today + timedelta(days=9)).isoformat()
    assert trip["alert_thresholds"] == [50, 90]
    raised = env.data(
        await env.client.patch(f"{URL}/{trip['id']}", json={"amount": "250.5", "name": "Lisbon"}, headers=alice.headers)
    )
    assert (raised["amount"], raised["name"]) == ("250.50", "Lisbon")
    off = await env.client.patch(f"{URL}/{trip['id']}", json={"end_date": None}, headers=alice.headers)
    assert off.status_code == 422
    listed = await env.client.get(URL, headers=alice.headers)
    assert [b["id"] for b in env.data(listed)] == [trip["id"]]


async def test_another_users_budget_is_not_found(env) -> None:
    alice, mallory = await env.signup(), await env.signup()
    mine = env.data(await env.client.post(URL, json=budget(), headers=alice.headers))
    path = f"{URL}/{mine['id']}"
    for method, suffix in [("GET", ""), ("GET", "/status"), ("PATCH", ""), ("DELETE", "")]:
        kwargs = {"json": {"amount": "1"}} if method == "PATCH" else {}
        assert (await env.client.request(method, path + suffix, headers=mallory.headers, **kwargs)).status_code == 404
    assert env.data(await env.client.get(URL, headers=mallory.headers)) == []
    assert env.data(await env.client.delete(path, headers=alice.headers))["id"] == mine["id"]
    assert await env.count(Budget) == 0


async def test_alike_budgets_share_one_sum_and_each_alerts_once(env) -> None:
    """Budgets of one scope and currency are summed once per evaluation; each still gets its own alerts, once."""
    alice = await env.signup()
    small = env.data(await env.client.post(URL, json=budget(name="Small", amount="50"), headers=alice.headers))
    large = env.data(await env.client.post(URL, json=budget(name="Large", amount="200"), headers=alice.headers))
    today = today_utc().isoformat()
    await env.expense(alice, amount="40.00", expense_date=today)
    await env.expense(alice, amount="70.00", expense_date=today)
    await env.expense(alice, amount="1.00", expense_date=today)
    sent = [(e["budget_id"], e["threshold_percent"], e["spent"]) for e in await env.outbox("budget.threshold_reached")]
    assert sorted(sent) == sorted(
        [
            (small["id"], 50, "40.00"),
            (small["id"], 80, "40.00"),
            (small["id"], 100, "110.00"),
            (large["id"], 50, "110.00"),
        ]
    )
    assert await env.count(BudgetCrossing, BudgetCrossing.user_id == alice.user_id) == 4
