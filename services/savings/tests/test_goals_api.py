"""Goals, contributions, withdrawals, progress and milestones over HTTP, against a real database."""

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from pfms_savings.models import Contribution, Goal

from .conftest import TODAY, Harness

pytestmark = pytest.mark.integration

GOALS = "/api/v1/savings/goals"


async def test_goal_lifecycle(env: Harness) -> None:
    goal = await env.goal(
        name="Emergency", category="emergency_fund", priority="high", target_date="2026-12-31", notes="3 months"
    )
    assert goal["target_amount"] == "1000.00"
    assert goal["saved_amount"] == "0.00"
    assert (goal["status"], goal["category"], goal["priority"]) == ("active", "emergency_fund", "high")
    other = await env.goal(name="Trip", category="travel", currency="jpy", target_amount="200000")
    assert (other["currency"], other["target_amount"]) == ("JPY", "200000")

    listed = (await env.get(GOALS, category="travel")).json()
    assert [g["id"] for g in listed["data"]] == [other["id"]]
    assert listed["pagination"]["total"] == 1
    assert (await env.get(GOALS, limit=1)).json()["pagination"] == {
        "page": 1,
        "limit": 1,
        "total": 2,
        "pages": 2,
        "has_next": True,
    }

    changed = await env.patch(f"{GOALS}/{goal['id']}", {"name": "Buffer", "target_date": None, "status": "paused"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["data"]["name"], changed.json()["data"]["target_date"]) == ("Buffer", None)
    assert (await env.get(f"{GOALS}/{goal['id']}")).json()["data"]["status"] == "paused"

    assert (await env.contribute(goal["id"], "10")).status_code == 201
    deleted = await env.client.delete(f"{GOALS}/{goal['id']}", headers=env.auth())
    assert deleted.status_code == 200
    assert (await env.get(f"{GOALS}/{goal['id']}")).status_code == 404
    assert await env.count(Contribution, Contribution.goal_id == uuid.UUID(goal["id"])) == 0


async def test_bad_input_answers_in_the_envelope_and_changes_nothing(env: Harness) -> None:
    malformed = await env.client.post(
        GOALS, content=b'{"name": "x",', headers={**env.auth(), "content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "MALFORMED_JSON"
    cases = [
        ({"name": "x", "target_amount": "100", "currency": "USD", "colour": "red"}, "colour"),
        ({"name": "x", "target_amount": "abc", "currency": "USD"}, "target_amount"),
        ({"name": "x", "target_amount": "-5", "currency": "USD"}, "target_amount"),
        ({"name": "x", "target_amount": "100", "currency": "XXY"}, "currency"),
        ({"name": "x", "target_amount": "100.001", "currency": "USD"}, "target_amount"),
        ({"name": "x", "target_amount": "100", "currency": "USD", "category": "yacht"}, "category"),
        ({"name": "x", "target_amount": "100", "currency": "USD", "target_date": "soon"}, "target_date"),
    ]
    for body, field in cases:
        response = await env.post(GOALS, body)
        assert response.status_code == 422, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"][0]["field"] == field, (body, error)
    assert await env.count(Goal) == 0

    goal = await env.goal()
    entries: list[tuple[dict[str, Any], str | None]] = [
        ({"amount": 5}, None),
        ({"amount": "0"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "5", "currency": "EUR"}, "currency"),
        ({"amount": "5", "date": "2026-04-01"}, "date"),
        ({"amount": "5", "extra": 1}, "extra"),
    ]
    for body, wrong in entries:
        response = await env.post(f"{GOALS}/{goal['id']}/contribute", body)
        if wrong is None:
            assert response.status_code == 201, response.text
            continue
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["details"][0]["field"] == wrong
    assert (await env.patch(f"{GOALS}/{goal['id']}", {"currency": "EUR"})).status_code == 422
    assert (await env.patch(f"{GOALS}/{goal['id']}", {"name": None})).status_code == 422
    assert (await env.get(f"{GOALS}/{goal['id']}")).json()["data"]["saved_amount"] == "5.00"


async def test_another_users_goal_is_not_found(env: Harness) -> None:
    goal = await env.goal()
    paths = [
        ("get", f"{GOALS}/{goal['id']}", None),
        ("get", f"{GOALS}/{goal['id']}/progress", None),
        ("get", f"{GOALS}/{goal['id']}/contributions", None),
        ("patch", f"{GOALS}/{goal['id']}", {"name": "mine"}),
        ("post", f"{GOALS}/{goal['id']}/contribute", {"amount": "5"}),
        ("post", f"{GOALS}/{goal['id']}/withdraw", {"amount": "5"}),
        ("delete", f"{GOALS}/{goal['id']}", None),
        (
            "post",
            "/api/v1/savings/rules",
            {"goal_id": goal["id"], "name": "r", "kind": "round_up", "round_up_unit": "5"},
        ),
    ]
    for method, path, body in paths:
        response = await env.client.request(method, path, headers=env.auth(env.bob), json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await env.get(GOALS, env.bob)).json()["data"] == []
    assert (await env.get(f"{GOALS}/{goal['id']}")).json()["data"]["name"] == "Rainy day"
    assert await env.entries(goal["id"]) == 0


async def test_a_withdrawal_never_takes_the_goal_below_zero(env: Harness) -> None:
    goal = await env.goal()
    assert (await env.contribute(goal["id"], "100")).status_code == 201
    taken = await env.post(f"{GOALS}/{goal['id']}/withdraw", {"amount": "60.50", "note": "dentist"})
    assert taken.status_code == 201, taken.text
    assert (taken.json()["data"]["kind"], taken.json()["data"]["saved_amount"]) == ("withdrawal", "39.50")
    refused = await env.post(f"{GOALS}/{goal['id']}/withdraw", {"amount": "39.51"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "INSUFFICIENT_SAVINGS"
    assert refused.json()["error"]["details"][0]["field"] == "amount"
    assert (await env.post(f"{GOALS}/{goal['id']}/withdraw", {"amount": "39.50"})).status_code == 201
    assert (await env.get(f"{GOALS}/{goal['id']}")).json()["data"]["saved_amount"] == "0.00"
    entries = (await env.get(f"{GOALS}/{goal['id']}/contributions")).json()
    assert [e["kind"] for e in entries["data"]] == ["withdrawal", "withdrawal", "contribution"]
    assert entries["data"][1]["note"] == "dentist"


async def test_archived_goals_take_no_money(env: Harness) -> None:
    goal = await env.goal()
    await env.patch(f"{GOALS}/{goal['id']}", {"status": "archived"})
    response = await env.contribute(goal["id"], "5")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "GOAL_ARCHIVED"


async def test_milestones_and_achievement_leave_once_each(env: Harness) -> None:
    goal = await env.goal(target_amount="100.00")
    withdraw = f"{GOALS}/{goal['id']}/withdraw"
    await env.contribute(goal["id"], "30")  # 30 %: 25
    await env.contribute(goal["id"], "20")  # 50 %: 50
    await env.post(withdraw, {"amount": "40"})  # 10 %
    await env.contribute(goal["id"], "40")  # 50 % again: nothing new
    assert [e["milestone_percent"] for e in await env.outbox("goal.milestone_reached")] == [25, 50]
    await env.contribute(goal["id"], "60")  # 110 %: 75 and achieved
    await env.post(withdraw, {"amount": "50"})
    await env.contribute(goal["id"], "50")  # crosses 100 % again: nothing new
    milestones = await env.outbox("goal.milestone_reached")
    achieved = await env.outbox("goal.achieved")
    assert [e["milestone_percent"] for e in milestones] == [25, 50, 75]
    assert len(achieved) == 1
    assert achieved[0] == {
        "user_id": str(env.alice),
        "goal_id": goal["id"],
        "goal_name": "Rainy day",
        "target_amount": "100.00",
        "saved_amount": "110.00",
        "currency": "USD",
        "achieved_on": TODAY.isoformat(),
    }
    progress = (await env.get(f"{GOALS}/{goal['id']}/progress")).json()["data"]
    assert (progress["achieved"], progress["milestones_reached"]) == (True, [25, 50, 75, 100])
    assert (await env.get(f"{GOALS}/{goal['id']}")).json()["data"]["achieved_at"] is not None


async def test_a_lower_target_reaches_milestones_at_once(env: Harness) -> None:
    goal = await env.goal(target_amount="1000.00")
    await env.contribute(goal["id"], "300")
    assert [e["milestone_percent"] for e in await env.outbox("goal.milestone_reached")] == [25]
    await env.patch(f"{GOALS}/{goal['id']}", {"target_amount": "500"})
    assert [e["milestone_percent"] for e in await env.outbox("goal.milestone_reached")] == [25, 50]
    assert await env.outbox("goal.achieved") == []


async def test_progress_projects_from_the_history(env: Harness) -> None:
    # 900 saved since 1 January (90 days to TODAY, 31 March) → 10 a day; 100 left → 10 April
    goal = await env.goal(target_amount="1000.00", target_date="2026-04-30")
    for day, amount in [(date(2026, 1, 1), "500"), (date(2026, 2, 1), "300"), (date(2026, 3, 1), "150")]:
        assert (await env.contribute(goal["id"], amount, date=day.isoformat())).status_code == 201
    await env.post(f"{GOALS}/{goal['id']}/withdraw", {"amount": "50", "date": "2026-03-15"})
    progress = (await env.get(f"{GOALS}/{goal['id']}/progress")).json()["data"]
    assert progress == {
        "goal_id": goal["id"],
        "target_amount": "1000.00",
        "saved_amount": "900.00",
        "remaining": "100.00",
        "currency": "USD",
        "percentage": "90.00",
        "target_date": "2026-04-30",
        "required_monthly": "100.00",  # the date is 30 days away: under a month counts as one
        "average_daily_saving": "10.0000",
        "projected_completion_date": "2026-04-10",
        "on_track": True,
        "achieved": False,
        "milestones_reached": [25, 50, 75],
        "contributions": 4,
        "as_of": TODAY.isoformat(),
    }
    await env.patch(f"{GOALS}/{goal['id']}", {"target_date": "2026-04-05"})
    late = (await env.get(f"{GOALS}/{goal['id']}/progress")).json()["data"]
    assert (late["on_track"], late["projected_completion_date"]) == (False, "2026-04-10")
    await env.patch(f"{GOALS}/{goal['id']}", {"target_date": "2027-03-31", "target_amount": "4550"})
    far = (await env.get(f"{GOALS}/{goal['id']}/progress")).json()["data"]
    assert far["required_monthly"] == "304.37"  # 3,650 over 365 days (11.99 average months), rounded up
    assert far["projected_completion_date"] == "2027-03-31"  # 365 days at 10 a day
    assert far["on_track"] is True


async def test_progress_of_an_empty_goal(env: Harness) -> None:
    goal = await env.goal()
    progress = (await env.get(f"{GOALS}/{goal['id']}/progress")).json()["data"]
    assert progress["percentage"] == "0.00"
    assert progress["projected_completion_date"] is None
    assert progress["required_monthly"] is None
    assert progress["on_track"] is None
    assert progress["contributions"] == 0


async def test_concurrent_withdrawals_never_overdraw(env: Harness) -> None:
    goal = await env.goal()
    await env.contribute(goal["id"], "100")
    withdraw = f"{GOALS}/{goal['id']}/withdraw"
    answers = await asyncio.gather(*(env.post(withdraw, {"amount": "60"}) for _ in range(3)))
    assert sorted(a.status_code for a in answers) == [201, 422, 422]
    assert (await env.get(f"{GOALS}/{goal['id']}")).json()["data"]["saved_amount"] == "40.00"
