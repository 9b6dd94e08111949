"""Rules of a shared space: members see and (by role) change them, they fire on the space's events only
and act within it, personal rules keep to personal events; removal and deletion take effect at once; a
deleted member's rules go with them while the space's history they were part of stays."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from pfms_automation.models import AutomationRule, RuleExecution, TriggerEvent
from pfms_contracts import EventData
from pfms_contracts.expense import BudgetThresholdReached, ExpenseCreated
from pfms_contracts.identity import UserDeleted
from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_platform.testing.helpers import publish_event, until

from .conftest import UBER_RULE, Env, expense

pytestmark = pytest.mark.integration

SPACE = uuid.uuid4()
RULES = "/api/v1/automation/rules"


def snapshot(version: int, members: dict[uuid.UUID, Any], owner: uuid.UUID, deleted: bool = False) -> Any:
    return SpaceMembershipChanged(
        user_id=owner,
        space_id=SPACE,
        kind="household",
        name="Home",
        space_version=version,
        deleted=deleted,
        members=[SpaceMember(user_id=u, role=r) for u, r in members.items()],
    )


async def count(env: Env, table: Any, *where: Any) -> int:
    async with env.svc.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def test_space_rules_belong_to_the_space_and_fire_on_its_events(env: Env) -> None:
    owner, member, viewer, stranger = (uuid.uuid4() for _ in range(4))
    client = env.svc.client

    def who(user: uuid.UUID, space: bool = False) -> dict[str, str]:
        return {**env.auth(user), **({"X-Space-ID": str(SPACE)} if space else {})}

    async def publish(data: EventData) -> None:
        await publish_event(env.svc.settings.amqp_url, data, source="test")

    await publish(snapshot(1, {owner: "owner", member: "member", viewer: "viewer"}, owner))

    async def joined() -> bool:
        return (await client.get(RULES, headers=who(viewer, True))).status_code == 200

    await until(joined)
    created = await client.post(RULES, json={**UBER_RULE, "name": "Shared rides"}, headers=who(owner, True))
    assert created.status_code == 201, created.text
    shared = created.json()["data"]
    assert shared["space_id"] == str(SPACE)
    personal = await env.rule(owner, name="My rides")
    assert personal["space_id"] is None

    # Members see the space's rules with the header, and only their own without it.
    for user in (owner, member, viewer):
        listed = await client.get(RULES, headers=who(user, True))
        assert [r["id"] for r in listed.json()["data"]] == [shared["id"]]
    assert [r["id"] for r in (await client.get(RULES, headers=who(owner))).json()["data"]] == [personal["id"]]
    assert (await client.get(RULES, headers=who(member))).json()["data"] == []
    assert (await client.get(f"{RULES}/{shared['id']}", headers=who(owner))).status_code == 404
    assert (await client.get(f"{RULES}/{personal['id']}", headers=who(owner, True))).status_code == 404

    # A viewer reads but cannot create, change, switch, reorder, delete or run rules; nothing changes.
    rule_path = f"{RULES}/{shared['id']}"
    assert (await client.get(rule_path, headers=who(viewer, True))).status_code == 200
    for method, path, body in (
        ("POST", RULES, UBER_RULE),
        ("PUT", rule_path, {"name": "Mine now"}),
        ("POST", f"{rule_path}/disable", None),
        ("POST", f"{RULES}/reorder", {"rule_ids": [shared["id"]]}),
        ("POST", f"{rule_path}/apply", {"from": "2026-11-01", "to": "2026-11-30"}),
        ("DELETE", rule_path, None),
        ("POST", "/api/v1/automation/trigger", {"event_type": "expense.created", "data": expense()}),
    ):
        refused = await client.request(method, path, json=body, headers=who(viewer, True))
        assert refused.status_code == 403, (method, path, refused.text)
        assert "viewer" in refused.json()["error"]["message"]
    assert (await client.get(rule_path, headers=who(viewer, True))).json()["data"] == shared
    assert await count(env, AutomationRule, AutomationRule.space_id == SPACE) == 1

    # A stranger is not told the space or its rules exist.
    for path in (RULES, rule_path, "/api/v1/automation/executions"):
        answer = await client.get(path, headers=who(stranger, True))
        assert answer.status_code == 404 and answer.json()["error"]["details"][0]["field"] == "X-Space-ID"
    assert (await client.get(rule_path, headers=who(stranger))).status_code == 404

    # The space's event (recorded by the member) runs the space's rule, not the owner's personal one;
    # the owner's personal event runs the personal rule only.
    in_space = expense(member, space_id=str(SPACE))
    await publish(ExpenseCreated.model_validate(in_space))
    await publish(ExpenseCreated.model_validate(expense(owner)))

    async def ran() -> bool:
        return len(await env.outbox("rule.executed")) == 2

    await until(ran)
    runs = {e["data"]["rule_id"]: e["data"] for e in await env.outbox("rule.executed")}
    assert runs[shared["id"]]["space_id"] == str(SPACE) and runs[shared["id"]]["user_id"] == str(member)
    assert runs[personal["id"]].get("space_id") is None and runs[personal["id"]]["user_id"] == str(owner)
    amends = [e["data"] for e in await env.outbox("expense.amend_requested")]
    space_amends = [a for a in amends if a["expense_id"] == in_space["expense_id"]]
    assert len(space_amends) == 2 and all(a["space_id"] == str(SPACE) for a in space_amends)
    assert all(a["user_id"] == str(member) for a in space_amends)
    assert all(a.get("space_id") is None for a in amends if a not in space_amends)
    assert await count(env, TriggerEvent, TriggerEvent.space_id == SPACE) == 1
    logged = (await client.get("/api/v1/automation/executions", headers=who(viewer, True))).json()["data"]
    assert [(x["rule_id"], x["space_id"]) for x in logged] == [(shared["id"], str(SPACE))]
    assert (await client.get("/api/v1/automation/executions", headers=who(member))).json()["data"] == []

    # A producer's copy per member of one space event (a space budget's alert) runs the space's rules once.
    alert_rule = {
        "name": "Budget alert",
        "trigger": {"event": "budget.threshold_reached"},
        "actions": [{"type": "notify", "title": "Budget", "message": "{budget_name} at {percent_used}%"}],
    }
    alerting = await client.post(RULES, json=alert_rule, headers=who(member, True))
    assert alerting.status_code == 201, alerting.text
    alert = {
        "budget_id": str(uuid.uuid4()),
        "budget_name": "Food",
        "threshold_percent": 80,
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "budget_amount": "500",
        "spent": "410",
        "percent_used": "82",
        "currency": "EUR",
        "space_id": str(SPACE),
    }
    for user in (owner, member, viewer):
        await publish(BudgetThresholdReached.model_validate({**alert, "user_id": str(user)}))

    async def alerted() -> bool:
        return await count(env, TriggerEvent, TriggerEvent.event_type == "budget.threshold_reached") == 3

    await until(alerted)
    alert_runs = RuleExecution.rule_id == uuid.UUID(alerting.json()["data"]["id"])
    assert await count(env, RuleExecution, alert_runs) == 1
    assert len(await env.outbox("notification.requested")) == 1

    # A member may change the space's rules; once removed, the space is a 404 at once.
    renamed = await client.put(rule_path, json={"name": "Rides"}, headers=who(member, True))
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Rides"
    await publish(snapshot(2, {owner: "owner", viewer: "viewer"}, owner))

    async def removed() -> bool:
        return (await client.get(rule_path, headers=who(member, True))).status_code == 404

    await until(removed)

    # The member's account deleted: their personal rule and the rule they made in the space go with them (it
    # would act for no one); the space's remembered events and runs they were part of stay the space's.
    await env.rule(member, name="Member's own")
    space_runs = await count(env, RuleExecution, RuleExecution.space_id == SPACE)
    await publish(UserDeleted(user_id=member, deleted_at=datetime.now(UTC)))

    async def member_purged() -> bool:
        return await count(env, AutomationRule, AutomationRule.user_id == member) == 0

    await until(member_purged)
    assert [r["id"] for r in (await client.get(RULES, headers=who(owner, True))).json()["data"]] == [shared["id"]]
    assert await count(env, TriggerEvent, TriggerEvent.space_id == SPACE, TriggerEvent.user_id == member) == 2
    assert await count(env, RuleExecution, RuleExecution.space_id == SPACE) == space_runs

    # The space's deletion takes its rules, runs and history; the personal rule stays.
    await publish(snapshot(3, {}, owner, deleted=True))

    async def purged() -> bool:
        left = [await count(env, t, t.space_id == SPACE) for t in (AutomationRule, RuleExecution, TriggerEvent)]
        return left == [0, 0, 0]

    await until(purged)
    assert (await client.get(RULES, headers=who(owner, True))).status_code == 404
    assert [r["id"] for r in (await client.get(RULES, headers=who(owner))).json()["data"]] == [personal["id"]]
