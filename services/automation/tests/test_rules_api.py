"""Rules over HTTP: CRUD, switches, order, validation that names the bad part, and ownership."""

import uuid

import pytest

from .conftest import UBER_RULE, Env

pytestmark = pytest.mark.integration

RULES = "/api/v1/automation/rules"


async def test_create_read_list_update_delete(env: Env) -> None:
    user = uuid.uuid4()
    created = await env.rule(user)
    assert created["trigger"] == {"event": "expense.created"}
    assert created["conditions"] == {"all": [{"field": "description", "op": "contains", "value": "uber"}]}
    assert created["actions"][0] == {"type": "set_category", "category_id": None, "category_name": "Transport"}
    assert created["enabled"] is True and created["priority"] == 100 and created["next_run_at"] is None
    client, headers = env.svc.client, env.auth(user)

    got = (await client.get(f"{RULES}/{created['id']}", headers=headers)).json()["data"]
    assert got == created

    updated = await client.put(
        f"{RULES}/{created['id']}",
        json={"name": "Rides", "conditions": {"any": [{"field": "amount", "op": "greater_than", "value": "10"}]}},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["data"]["name"] == "Rides"
    assert updated.json()["data"]["conditions"]["any"][0]["value"] == "10"
    assert updated.json()["data"]["actions"] == created["actions"]

    page = (await client.get(RULES, headers=headers)).json()
    assert page["pagination"]["total"] == 1 and page["data"][0]["name"] == "Rides"

    assert (await client.delete(f"{RULES}/{created['id']}", headers=headers)).status_code == 200
    assert (await client.get(f"{RULES}/{created['id']}", headers=headers)).status_code == 404


async def test_schedule_rules_get_their_next_fire_in_their_zone(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(
        user,
        name="Monthly subscription",
        trigger={"cron": "0 9 1 * *", "timezone": "Europe/Berlin"},
        conditions=None,
        actions=[{"type": "create_expense", "amount": "9.99", "currency": "EUR", "description": "Netflix"}],
    )
    assert rule["trigger"] == {"cron": "0 9 1 * *", "timezone": "Europe/Berlin"}
    assert rule["next_run_at"] is not None
    off = await env.svc.client.post(f"{RULES}/{rule['id']}/disable", headers=env.auth(user))
    assert off.json()["data"]["enabled"] is False and off.json()["data"]["next_run_at"] is None
    on = await env.svc.client.post(f"{RULES}/{rule['id']}/enable", headers=env.auth(user))
    assert on.json()["data"]["next_run_at"] == rule["next_run_at"]
    schedules = await env.svc.client.get(RULES, params={"trigger": "schedule"}, headers=env.auth(user))
    assert [r["id"] for r in schedules.json()["data"]] == [rule["id"]]


async def test_reorder_sets_priorities_in_the_order_given(env: Env) -> None:
    user = uuid.uuid4()
    first = await env.rule(user, name="a")
    second = await env.rule(user, name="b")
    third = await env.rule(user, name="c")
    response = await env.svc.client.post(
        f"{RULES}/reorder", json={"rule_ids": [third["id"], first["id"], second["id"]]}, headers=env.auth(user)
    )
    assert response.status_code == 200, response.text
    listed = (await env.svc.client.get(RULES, headers=env.auth(user))).json()["data"]
    assert [r["name"] for r in listed] == ["c", "a", "b"]
    assert [r["priority"] for r in listed] == [10, 20, 30]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                **UBER_RULE,
                "conditions": {
                    "all": [{"field": "description", "op": "contains", "value": "x"}] * 2
                    + [{"field": "amount", "op": "bigger", "value": "1"}]
                },
            },
            "conditions.all[2].op",
        ),
        ({**UBER_RULE, "trigger": {"event": "expense.exploded"}}, "trigger.event"),
        (
            {**UBER_RULE, "actions": [{"type": "contribute", "goal_id": "x", "amount": "1", "currency": "EUR"}]},
            "actions[0].goal_id",
        ),
        ({**UBER_RULE, "name": 5}, "name"),
        ({**UBER_RULE, "colour": "red"}, "colour"),
        ({**UBER_RULE, "priority": "first"}, "priority"),
        ({k: v for k, v in UBER_RULE.items() if k != "actions"}, "actions"),
    ],
)
async def test_a_bad_rule_is_refused_naming_the_field_and_nothing_is_saved(env: Env, body: dict, field: str) -> None:
    user = uuid.uuid4()
    response = await env.svc.client.post(RULES, json=body, headers=env.auth(user))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert (await env.svc.client.get(RULES, headers=env.auth(user))).json()["pagination"]["total"] == 0


async def test_malformed_json_is_a_400(env: Env) -> None:
    user = uuid.uuid4()
    response = await env.svc.client.post(
        RULES, content=b'{"name": ', headers={**env.auth(user), "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_JSON"


async def test_an_update_that_breaks_the_rule_changes_nothing(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(user)
    response = await env.svc.client.put(
        f"{RULES}/{rule['id']}", json={"name": "x", "actions": [{"type": "nope"}]}, headers=env.auth(user)
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "actions[0].type"
    assert (await env.svc.client.get(f"{RULES}/{rule['id']}", headers=env.auth(user))).json()["data"] == rule
    nulled = await env.svc.client.put(f"{RULES}/{rule['id']}", json={"name": None}, headers=env.auth(user))
    assert nulled.status_code == 422


async def test_another_users_rule_is_not_found(env: Env) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    rule = await env.rule(owner)
    client, headers = env.svc.client, env.auth(stranger)
    assert (await client.get(f"{RULES}/{rule['id']}", headers=headers)).status_code == 404
    assert (await client.put(f"{RULES}/{rule['id']}", json={"name": "x"}, headers=headers)).status_code == 404
    assert (await client.delete(f"{RULES}/{rule['id']}", headers=headers)).status_code == 404
    assert (await client.post(f"{RULES}/{rule['id']}/disable", headers=headers)).status_code == 404
    assert (await client.post(f"{RULES}/{rule['id']}/test", json={}, headers=headers)).status_code == 404
    apply = await client.post(
        f"{RULES}/{rule['id']}/apply", json={"from": "2026-01-01", "to": "2026-12-31"}, headers=headers
    )
    assert apply.status_code == 404
    reorder = await client.post(f"{RULES}/reorder", json={"rule_ids": [rule["id"]]}, headers=headers)
    assert reorder.status_code == 422 and reorder.json()["error"]["details"][0]["field"] == "rule_ids.0"
    assert (await client.get(RULES, headers=headers)).json()["data"] == []
    assert (await client.get(f"{RULES}/{rule['id']}", headers=env.auth(owner))).json()["data"]["name"] == rule["name"]


async def test_requests_without_a_token_are_refused(env: Env) -> None:
    assert (await env.svc.client.get(RULES)).status_code == 401
