"""Running rules over HTTP: trigger (public and internal), dry runs, apply jobs and their revert."""

import uuid
from typing import Any

import pytest

from pfms_automation import store
from pfms_platform.security import mint_service_token

from .conftest import Env, expense

pytestmark = pytest.mark.integration

API = "/api/v1/automation"


async def remember(
    env: Env, user: uuid.UUID, *events: dict[str, Any], event_type: str = "expense.created"
) -> list[str]:
    """Put events in the user's history as the consumer does."""
    ids = []
    async with env.svc.db.sessions() as session, session.begin():
        for data in events:
            event_id = str(uuid.uuid4())
            await store.remember(session, user, event_id, event_type, data, keep=500)
            ids.append(event_id)
    return ids


async def test_trigger_runs_matching_rules_once_per_event_id_and_logs_them(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(user)
    other = await env.rule(user, name="Big spend", conditions={"field": "amount", "op": "greater_than", "value": "100"})
    data = expense()
    body = {"event_type": "expense.created", "data": data, "event_id": "evt-1"}
    first = await env.svc.client.post(f"{API}/trigger", json=body, headers=env.auth(user))
    assert first.status_code == 200, first.text
    runs = first.json()["data"]["executions"]
    assert [(r["rule_id"], r["status"], r["actions"]) for r in runs] == [
        (rule["id"], "succeeded", ["set_category", "add_tags"])
    ]
    again = await env.svc.client.post(f"{API}/trigger", json=body, headers=env.auth(user))
    assert again.json()["data"]["executions"][0]["duplicate"] is True

    amends = await env.outbox("expense.amend_requested")
    assert [(a["data"]["category_name"], a["data"]["add_tags"]) for a in amends] == [
        ("Transport", []),
        (None, ["ride"]),
    ]
    assert {a["data"]["expense_id"] for a in amends} == {data["expense_id"]}
    assert all(a["data"]["requested_by"] == f"automation:rule:{rule['id']}" for a in amends)
    executed = await env.outbox("rule.executed")
    assert [e["data"]["status"] for e in executed] == ["succeeded"]

    log = (await env.svc.client.get(f"{API}/executions", headers=env.auth(user))).json()
    assert log["pagination"]["total"] == 1
    entry = log["data"][0]
    assert entry["rule_id"] == rule["id"] and entry["event_id"] == "evt-1" and entry["status"] == "succeeded"
    assert entry["input"]["data"]["description"] == "UBER *TRIP"
    assert [a["action"] for a in entry["result"]["actions"]] == ["set_category", "add_tags"]
    filtered = await env.svc.client.get(f"{API}/executions", params={"rule_id": other["id"]}, headers=env.auth(user))
    assert filtered.json()["data"] == []
    stranger = await env.svc.client.get(f"{API}/executions", headers=env.auth(uuid.uuid4()))
    assert stranger.json()["data"] == []


async def test_trigger_checks_the_event_against_its_contract(env: Env) -> None:
    user = uuid.uuid4()
    bad = await env.svc.client.post(
        f"{API}/trigger",
        json={"event_type": "expense.created", "data": expense(amount="lots")},
        headers=env.auth(user),
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "data.amount"
    unknown = await env.svc.client.post(
        f"{API}/trigger", json={"event_type": "rule.executed", "data": {}}, headers=env.auth(user)
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "event_type"
    assert await env.outbox("rule.executed") == []


async def test_internal_trigger_needs_a_service_token_and_counts_the_causation_chain(env: Env) -> None:
    user = uuid.uuid4()
    await env.rule(user)
    body = {"user_id": str(user), "event_type": "expense.created", "data": expense(), "causationchain": "a b c d e"}
    url = "/internal/v1/automation/trigger"
    assert (await env.svc.client.post(url, json=body, headers=env.auth(user))).status_code == 401
    token = mint_service_token(env.svc.settings.service_token_secret, "expense")
    response = await env.svc.client.post(url, json=body, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["data"]["executions"]] == ["loop_stopped"]
    assert await env.outbox("expense.amend_requested") == []
    shallow = {**body, "causationchain": "a"}
    response = await env.svc.client.post(url, json=shallow, headers={"authorization": f"Bearer {token}"})
    assert [r["status"] for r in response.json()["data"]["executions"]] == ["succeeded"]
    amends = await env.outbox("expense.amend_requested")
    assert len(amends) == 2 and amends[0]["causationchain"].split()[0] == "a"

    export = await env.svc.client.get(
        "/internal/v1/export", params={"user_id": str(user)}, headers={"authorization": f"Bearer {token}"}
    )
    assert export.status_code == 200, export.text
    tables = export.json()["data"]["tables"]
    assert len(tables["automation_rules"]) == 1 and len(tables["rule_executions"]) == 2
    assert {"trigger_events", "automation_jobs", "job_changes", "user_timezones"} <= set(tables)


async def test_dry_run_on_a_sample_and_on_history_changes_nothing(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(user)
    url = f"{API}/rules/{rule['id']}/test"
    sample = await env.svc.client.post(url, json={"event": {"data": expense(tags=["ride"])}}, headers=env.auth(user))
    assert sample.status_code == 200, sample.text
    result = sample.json()["data"]["results"][0]
    assert result["matched"] is True
    assert result["conditions"][0]["path"] == "conditions.all[0]" and result["conditions"][0]["matched"] is True
    assert [(a["action"], a["requested"]) for a in result["actions"]] == [("set_category", True), ("add_tags", False)]
    assert result["actions"][0]["after"]["category_name"] == "Transport"

    await remember(env, user, expense(), expense(description="Groceries"), expense(description="uber eats"))
    history = (await env.svc.client.post(url, json={"last": 10}, headers=env.auth(user))).json()["data"]
    assert history["evaluated"] == 3 and history["matched"] == 2
    assert [r["matched"] for r in history["results"]] == [True, False, True]  # newest first

    bad = await env.svc.client.post(url, json={"event": {"data": expense(amount=[])}}, headers=env.auth(user))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "event.data.amount"
    both = await env.svc.client.post(url, json={"event": {"data": {}}, "last": 3}, headers=env.auth(user))
    assert both.status_code == 422
    assert await env.outbox("expense.amend_requested") == []
    assert await env.outbox("rule.executed") == []


async def test_a_schedule_dry_run_previews_its_next_fires(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(
        user,
        trigger={"cron": "0 9 * * *", "timezone": "Europe/Berlin"},
        conditions={"field": "date", "op": "weekday", "value": ["saturday", "sunday"]},
        actions=[{"type": "notify", "title": "Weekend", "message": "It is {date}"}],
    )
    report = await env.svc.client.post(f"{API}/rules/{rule['id']}/test", json={"last": 7}, headers=env.auth(user))
    data = report.json()["data"]
    assert data["evaluated"] == 7 and data["matched"] == 2
    assert all(r["event_type"] == "schedule" for r in data["results"])


async def test_apply_over_history_is_a_job_whose_category_and_tag_changes_revert(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(user)
    ride = expense(category_name="Misc", tags=["work"], description="Taxi")
    gone = expense()
    await remember(env, user, ride, expense(description="Rent"), gone, expense(expense_date="2025-01-01"))
    edited = {
        **ride,
        "description": "UBER *TRIP (edited)",
        "previous_amount": "23.50",
        "previous_expense_date": "2026-11-23",
    }
    await remember(env, user, edited, event_type="expense.updated")  # only its latest state matches the rule
    await remember(env, user, gone, event_type="expense.deleted")  # matched when created, deleted since
    response = await env.svc.client.post(
        f"{API}/rules/{rule['id']}/apply", json={"from": "2026-11-01", "to": "2026-11-30"}, headers=env.auth(user)
    )
    assert response.status_code == 201, response.text
    job = response.json()["data"]
    assert job["status"] == "completed"
    assert (job["events_scanned"], job["events_matched"], job["actions_requested"]) == (2, 1, 2)

    detail = (await env.svc.client.get(f"{API}/jobs/{job['id']}", headers=env.auth(user))).json()["data"]
    assert [(c["action"], c["revertible"]) for c in detail["changes"]] == [("set_category", True), ("add_tags", True)]
    amends = await env.outbox("expense.amend_requested")
    assert [(a["data"]["category_name"], a["data"]["add_tags"]) for a in amends] == [
        ("Transport", []),
        (None, ["ride"]),
    ]

    assert (
        await env.svc.client.post(f"{API}/jobs/{job['id']}/revert", headers=env.auth(uuid.uuid4()))
    ).status_code == 404
    reverted = await env.svc.client.post(f"{API}/jobs/{job['id']}/revert", headers=env.auth(user))
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["data"]["status"] == "reverted" and reverted.json()["data"]["changes_reverted"] == 2
    undo = (await env.outbox("expense.amend_requested"))[2:]
    assert [(u["data"]["category_name"], u["data"]["remove_tags"]) for u in undo] == [("Misc", []), (None, ["ride"])]
    assert all(u["data"]["expense_id"] == ride["expense_id"] for u in undo)
    twice = await env.svc.client.post(f"{API}/jobs/{job['id']}/revert", headers=env.auth(user))
    assert twice.status_code == 409

    jobs = (await env.svc.client.get(f"{API}/jobs", headers=env.auth(user))).json()
    assert jobs["pagination"]["total"] == 1
    backwards = await env.svc.client.post(
        f"{API}/rules/{rule['id']}/apply", json={"from": "2026-12-01", "to": "2026-11-01"}, headers=env.auth(user)
    )
    assert backwards.status_code == 422
