"""Events on the real bus: rules run on consumed events once, loops stop, schedules fire, users are purged."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, update

from pfms_automation.cache import RuleCache, version_key
from pfms_automation.models import AutomationRule, RuleExecution, TriggerEvent, UserTimezone
from pfms_automation.scheduler import fire_due
from pfms_contracts import CloudEvent
from pfms_contracts.automation import AutomationCustom
from pfms_contracts.expense import ExpenseCreated
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_platform.testing.helpers import publish_event, until

from .conftest import Env, expense

pytestmark = pytest.mark.integration


async def count(env: Env, table: Any, *where: Any) -> int:
    async with env.svc.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def executions(env: Env, user: uuid.UUID) -> list[RuleExecution]:
    async with env.svc.db.sessions() as session:
        rows = await session.scalars(
            select(RuleExecution).where(RuleExecution.user_id == user).order_by(RuleExecution.chain_depth)
        )
        return list(rows)


async def publish(env: Env, data: Any, event: CloudEvent | None = None) -> CloudEvent:
    return await publish_event(env.svc.settings.amqp_url, data, source="test", event=event)


async def test_a_consumed_expense_runs_the_rules_once_even_when_redelivered(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(user)
    created = ExpenseCreated.model_validate(expense(user))
    event = await publish(env, created)
    await publish(env, created, event=event)  # the same event again, as a redelivery would bring it

    async def ran() -> bool:
        return len(await env.outbox("rule.executed")) == 1 and len(await env.outbox("expense.amend_requested")) == 2

    await until(ran)
    assert await count(env, TriggerEvent, TriggerEvent.user_id == user) == 1
    [execution] = await executions(env, user)
    assert execution.event_id == event.id and str(execution.rule_id) == rule["id"]
    amends = await env.outbox("expense.amend_requested")
    assert all(a["causationchain"] == event.id for a in amends)
    await publish(env, created, event=event.model_copy(update={"id": str(uuid.uuid4())}))
    await until(lambda: _executions_are(env, user, 2))
    assert len(await env.outbox("expense.amend_requested")) == 4


async def _executions_are(env: Env, user: uuid.UUID, n: int) -> bool:
    return len(await executions(env, user)) == n


async def test_a_rule_that_retriggers_itself_stops_at_the_chain_limit(env: Env) -> None:
    user = uuid.uuid4()
    await env.rule(
        user,
        name="echo",
        trigger={"event": "automation.custom"},
        conditions={"field": "name", "op": "equals", "value": "ping"},
        actions=[{"type": "publish", "name": "ping", "payload": {"again": True}}],
    )
    await publish(env, AutomationCustom(user_id=user, rule_id=uuid.uuid4(), name="ping", trigger="test"))
    limit = env.svc.settings.max_chain_depth

    async def stopped() -> bool:
        return any(e.status == "loop_stopped" for e in await executions(env, user))

    await until(stopped, timeout=30)
    runs = await executions(env, user)
    assert [(e.chain_depth, e.status) for e in runs] == [(d, "succeeded") for d in range(1, limit + 1)] + [
        (limit + 1, "loop_stopped")
    ]
    assert runs[-1].error and "exceeds the limit" in runs[-1].error
    assert len(await env.outbox("automation.custom")) == limit
    statuses = [e["data"]["status"] for e in await env.outbox("rule.executed")]
    assert statuses.count("loop_stopped") == 1


async def test_a_due_schedule_fires_once_and_moves_to_its_next_time(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(
        user,
        name="Rent",
        trigger={"cron": "0 9 1 * *", "timezone": "Europe/Berlin"},
        conditions=None,
        actions=[{"type": "create_expense", "amount": "950", "currency": "EUR", "description": "Rent"}],
    )
    due = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    async with env.svc.db.sessions() as session, session.begin():
        await session.execute(
            update(AutomationRule).where(AutomationRule.id == uuid.UUID(rule["id"])).values(next_run_at=due)
        )

    async def fired() -> bool:
        return len(await env.outbox("expense.create_requested")) == 1

    await until(fired)
    [created] = await env.outbox("expense.create_requested")
    assert created["data"]["expense_date"] == "2026-11-01" and Decimal(created["data"]["amount"]) == 950
    [execution] = await executions(env, user)
    assert execution.event_id == f"schedule:{rule['id']}:{due.isoformat()}"
    async with env.svc.db.sessions() as session:
        row = await session.get(AutomationRule, uuid.UUID(rule["id"]))
        assert row is not None and row.next_run_at is not None and row.next_run_at > datetime.now(UTC)
        assert row.next_run_at.astimezone(UTC).hour in (7, 8) and row.run_count == 1
    async with env.svc.db.sessions() as session, session.begin():  # a retried fire of the same instant
        await session.execute(update(AutomationRule).values(next_run_at=due))
        await fire_due(session, env.svc.settings, datetime.now(UTC))
    assert len(await env.outbox("expense.create_requested")) == 1


async def test_a_schedule_without_a_zone_follows_the_users_profile(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(
        user,
        trigger={"cron": "0 9 * * *"},
        conditions=None,
        actions=[{"type": "notify", "title": "Morning", "message": "Check your budget"}],
    )
    at_utc = datetime.fromisoformat(rule["next_run_at"])
    assert at_utc.astimezone(UTC).hour == 9
    await publish(env, UserUpdated(user_id=user, section="profile", changes={"timezone": "Mars/Olympus"}))
    await publish(env, UserUpdated(user_id=user, section="profile", changes={"timezone": "Asia/Kolkata"}))

    async def moved() -> bool:
        async with env.svc.db.sessions() as session:
            row = await session.get(AutomationRule, uuid.UUID(rule["id"]))
            return row is not None and row.next_run_at is not None and row.next_run_at.astimezone(UTC).minute == 30

    await until(moved)
    assert await count(env, UserTimezone, UserTimezone.timezone == "Asia/Kolkata") == 1


async def test_user_deleted_purges_every_row_of_the_user(env: Env) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    await env.rule(user)
    await env.rule(other)
    for owner in (user, other):
        await env.svc.client.post(
            "/api/v1/automation/trigger",
            json={"event_type": "expense.created", "data": expense()},
            headers=env.auth(owner),
        )
    await publish(env, UserUpdated(user_id=user, section="profile", changes={"timezone": "Europe/Paris"}))
    await until(lambda: _has_timezone(env, user))
    await publish(env, UserDeleted(user_id=user, deleted_at=datetime.now(UTC)))

    async def purged() -> bool:
        return await count(env, AutomationRule, AutomationRule.user_id == user) == 0

    await until(purged)
    for table in (RuleExecution, TriggerEvent, UserTimezone):
        assert await count(env, table, table.user_id == user) == 0
    assert await count(env, AutomationRule, AutomationRule.user_id == other) == 1
    assert await count(env, RuleExecution, RuleExecution.user_id == other) == 1
    redis = Redis.from_url(env.svc.settings.redis_url, decode_responses=True)
    try:  # the rule cache's version key named the person
        assert [key async for key in redis.scan_iter(match=f"*{user}*")] == []
        assert await redis.get(version_key(other)) is not None
    finally:
        await redis.aclose()


async def _has_timezone(env: Env, user: uuid.UUID) -> bool:
    return await count(env, UserTimezone, UserTimezone.user_id == user) == 1


async def test_changes_to_rules_reach_every_instances_cache(env: Env) -> None:
    user = uuid.uuid4()
    rule = await env.rule(user)
    redis = Redis.from_url(env.svc.settings.redis_url, decode_responses=True)
    other_instance = RuleCache(redis)
    try:
        async with env.svc.db.sessions() as session:
            assert len(await other_instance.rules(session, user, "expense.created")) == 1
            assert len(await other_instance.rules(session, user, "expense.created")) == 1
            assert other_instance.loads == 1
        off = await env.svc.client.post(f"/api/v1/automation/rules/{rule['id']}/disable", headers=env.auth(user))
        assert off.status_code == 200
        async with env.svc.db.sessions() as session:
            assert len(await other_instance.rules(session, user, "expense.created")) == 0
            assert other_instance.loads == 2
    finally:
        await redis.aclose()
    body: dict[str, Any] = {"event_type": "expense.created", "data": expense()}
    response = await env.svc.client.post("/api/v1/automation/trigger", json=body, headers=env.auth(user))
    assert response.json()["data"]["executions"] == []


async def test_the_history_keeps_the_latest_events_per_user(make_service: Any, jwt_keys: Any) -> None:
    env = Env(await make_service("automation", history_per_user=3), jwt_keys)
    user = uuid.uuid4()
    sent = [await publish(env, ExpenseCreated.model_validate(expense(user, description=f"e{i}"))) for i in range(5)]

    async def settled() -> bool:
        return await count(env, TriggerEvent, TriggerEvent.user_id == user) == 3 and await _last_is(env, sent[-1].id)

    await until(settled, timeout=timedelta(seconds=20).total_seconds())


async def _last_is(env: Env, event_id: str) -> bool:
    async with env.svc.db.sessions() as session:
        ids = set(await session.scalars(select(TriggerEvent.event_id)))
        return event_id in ids
