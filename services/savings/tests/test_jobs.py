"""Scheduled auto-save: catch-up after downtime, exactly once under two instances, the injectable clock."""

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from pfms_platform.security import mint_service_token
from pfms_savings import jobs

from .conftest import TODAY, Harness

pytestmark = pytest.mark.integration


async def weekly(env: Harness, goal_id: str, **overrides: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "goal_id": goal_id,
        "name": "Weekly",
        "kind": "scheduled",
        "amount": "20.00",
        "frequency": "weekly",
    }
    return await env.rule(**{**body, "start_date": TODAY.isoformat(), **overrides})


async def test_missed_runs_are_caught_up_once_each(env: Harness) -> None:
    goal = await env.goal(target_amount="100.00")
    rule = await weekly(env, goal["id"])
    assert rule["next_run_on"] == TODAY.isoformat()
    assert (await jobs.run_scheduled(env.svc.db, TODAY - timedelta(days=1), 366)).rules == 0
    # the service was down for three weeks: four runs are due (31 Mar, 7, 14, 21 Apr)
    day = TODAY + timedelta(days=21)
    tally = await jobs.run_scheduled(env.svc.db, day, 366)
    assert (tally.rules, tally.contributions) == (1, 4)
    assert (await jobs.run_scheduled(env.svc.db, day, 366)).contributions == 0
    rows = (await env.get(f"/api/v1/savings/goals/{goal['id']}/contributions")).json()["data"]
    assert [(r["date"], r["amount"], r["source"]) for r in rows] == [
        ("2026-04-21", "20.00", "scheduled"),
        ("2026-04-14", "20.00", "scheduled"),
        ("2026-04-07", "20.00", "scheduled"),
        ("2026-03-31", "20.00", "scheduled"),
    ]
    shown = (await env.get(f"/api/v1/savings/rules/{rule['id']}")).json()["data"]
    assert (shown["last_run_on"], shown["next_run_on"]) == ("2026-04-21", "2026-04-28")
    assert [m["milestone_percent"] for m in await env.outbox("goal.milestone_reached")] == [25, 50, 75]


async def test_two_instances_pay_each_run_once(env: Harness) -> None:
    goals = [await env.goal(name=f"Goal {i}") for i in range(3)]
    for goal in goals:
        await weekly(env, goal["id"], frequency="daily", amount="1.00")
    day = TODAY + timedelta(days=9)
    first, second = await asyncio.gather(
        jobs.run_scheduled(env.svc.db, day, 366), jobs.run_scheduled(env.svc.db, day, 366)
    )
    assert first.contributions + second.contributions == 30
    for goal in goals:
        assert await env.entries(goal["id"]) == 10


async def test_catch_up_is_bounded_per_pass(env: Harness) -> None:
    goal = await env.goal()
    await weekly(env, goal["id"], frequency="daily", amount="1.00")
    day = TODAY + timedelta(days=9)
    passes = [(await jobs.run_scheduled(env.svc.db, day, 4)).contributions for _ in range(4)]
    assert passes == [4, 4, 2, 0]  # the rest of a long outage follows in the next passes
    assert await env.entries(goal["id"]) == 10


async def test_monthly_runs_keep_their_day(env: Harness) -> None:
    goal = await env.goal()
    rule = await weekly(env, goal["id"], frequency="monthly")
    await jobs.run_scheduled(env.svc.db, date(2026, 6, 1), 366)
    rows = (await env.get(f"/api/v1/savings/goals/{goal['id']}/contributions")).json()["data"]
    assert [r["date"] for r in rows] == ["2026-05-31", "2026-04-30", "2026-03-31"]
    shown = (await env.get(f"/api/v1/savings/rules/{rule['id']}")).json()["data"]
    assert shown["next_run_on"] == "2026-06-30"


async def test_a_paused_goal_skips_its_runs_and_a_resumed_rule_starts_from_today(env: Harness) -> None:
    goal = await env.goal()
    rule = await weekly(env, goal["id"])
    await env.patch(f"/api/v1/savings/goals/{goal['id']}", {"status": "paused"})
    tally = await jobs.run_scheduled(env.svc.db, TODAY + timedelta(days=14), 366)
    assert (tally.contributions, tally.skipped) == (0, 3)
    await env.patch(f"/api/v1/savings/goals/{goal['id']}", {"status": "active"})
    await env.patch(f"/api/v1/savings/rules/{rule['id']}", {"active": False})
    env.svc.settings.clock_date = TODAY + timedelta(days=30)
    resumed = await env.patch(f"/api/v1/savings/rules/{rule['id']}", {"active": True})
    assert resumed.json()["data"]["next_run_on"] == "2026-05-05"  # first weekly run on or after 30 April
    assert await env.entries(goal["id"]) == 0


async def test_rule_validation(env: Harness) -> None:
    goal = await env.goal()
    base = {"goal_id": goal["id"], "name": "r"}
    cases = [
        ({**base, "kind": "round_up"}, "body"),
        ({**base, "kind": "round_up", "round_up_unit": "3"}, "round_up_unit"),
        ({**base, "kind": "round_up", "round_up_unit": "1", "percent": "5"}, "body"),
        ({**base, "kind": "income_percent", "percent": "101"}, "percent"),
        ({**base, "kind": "scheduled", "amount": "5", "frequency": "hourly", "start_date": "2026-04-01"}, "frequency"),
        ({**base, "kind": "scheduled", "amount": "5.001", "frequency": "daily", "start_date": "2026-04-01"}, "amount"),
        ({**base, "kind": "scheduled", "amount": "5", "frequency": "daily", "start_date": "2026-03-01"}, "start_date"),
        ({**base, "kind": "teleport"}, "kind"),
    ]
    for body, field in cases:
        response = await env.post("/api/v1/savings/rules", body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["details"][0]["field"] == field, (body, response.json())
    rule = await env.rule(**base, kind="round_up", round_up_unit="1")
    wrong = await env.patch(f"/api/v1/savings/rules/{rule['id']}", {"percent": "5"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["field"] == "percent"
    assert (await env.get(f"/api/v1/savings/rules/{rule['id']}", env.bob)).status_code == 404
    assert (await env.patch(f"/api/v1/savings/rules/{rule['id']}", {"name": "mine"}, env.bob)).status_code == 404
    path = f"/api/v1/savings/rules/{rule['id']}"
    assert (await env.client.delete(path, headers=env.auth(env.bob))).status_code == 404
    assert (await env.get("/api/v1/savings/rules")).json()["pagination"]["total"] == 1
    assert (await env.client.delete(f"/api/v1/savings/rules/{rule['id']}", headers=env.auth())).status_code == 200
    assert (await env.get("/api/v1/savings/rules")).json()["pagination"]["total"] == 0


async def test_internal_route_runs_the_pass(env: Harness) -> None:
    goal = await env.goal()
    await weekly(env, goal["id"])
    path = "/internal/v1/savings/jobs/scheduled"
    assert (await env.client.post(path, json={}, headers=env.auth())).status_code == 401
    token = mint_service_token(env.svc.settings.service_token_secret, "ops")
    response = await env.client.post(path, json={"day": "2026-04-07"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"rules": 1, "contributions": 2, "skipped": 0}


async def test_gdpr_export_holds_every_table_of_the_user(env: Harness) -> None:
    goal = await env.goal()
    await weekly(env, goal["id"])
    await env.contribute(goal["id"], "300")
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    response = await env.client.get(
        "/internal/v1/export", params={"user_id": str(env.alice)}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    tables = response.json()["data"]["tables"]
    counts = {name: len(rows) for name, rows in tables.items()}
    assert counts == {
        "goals": 1,
        "contributions": 1,
        "goal_milestones": 1,
        "auto_save_rules": 1,
        "spending_facts": 0,
        "space_members": 0,  # the spaces read model: the spaces this person is in
    }
