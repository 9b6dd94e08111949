"""Scheduled rules: a loop fires the rules whose `next_run_at` has come, once per fire.

Due rows are claimed with `FOR UPDATE SKIP LOCKED`, so several instances never fire one rule at
once; each fire is an execution keyed `schedule:<rule>:<instant>`, so it happens once even if a
transaction is retried. A service that was down fires a missed schedule once, at its latest missed
time, then carries on from now (no burst of catch-up runs).
"""

import asyncio
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation import store
from pfms_automation.cache import compiled
from pfms_automation.engine import Incoming, run
from pfms_automation.models import AutomationRule
from pfms_automation.rules import RuleSet
from pfms_automation.schedule import next_fire, zone
from pfms_automation.settings import Settings
from pfms_platform.logging import get_logger

log = get_logger(__name__)


def timezone_of(row: AutomationRule, user_timezone: str | None) -> str:
    return row.timezone or user_timezone or "UTC"


def plan_next(row: AutomationRule, user_timezone: str | None, after: datetime) -> None:
    """Set the rule's next fire; a disabled or event rule has none."""
    if row.cron is None or not row.enabled:
        row.next_run_at = None
        return
    row.next_run_at = next_fire(row.cron, zone(timezone_of(row, user_timezone)), after)


async def reschedule_user(session: AsyncSession, user_id: uuid.UUID, user_timezone: str) -> None:
    """The user's time zone changed: schedules without a zone of their own follow it."""
    rows = await session.scalars(
        select(AutomationRule).where(
            AutomationRule.user_id == user_id, AutomationRule.cron.is_not(None), AutomationRule.timezone.is_(None)
        )
    )
    now = datetime.now(UTC)
    for row in rows:
        plan_next(row, user_timezone, now)


async def fire_due(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Fire up to `scheduler_batch` due rules in this transaction; returns how many fired."""
    rows = list(
        await session.scalars(
            select(AutomationRule)
            .where(
                AutomationRule.enabled.is_(True),
                AutomationRule.cron.is_not(None),
                AutomationRule.next_run_at <= now,
            )
            .order_by(AutomationRule.next_run_at)
            .limit(settings.scheduler_batch)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        assert row.next_run_at is not None and row.cron is not None
        tz_name = timezone_of(row, await store.user_timezone(session, row.user_id))
        local = row.next_run_at.astimezone(zone(tz_name))
        data = {"scheduled_for": local.isoformat(), "date": local.date().isoformat(), "timezone": tz_name}
        key = f"schedule:{row.id}:{row.next_run_at.isoformat()}"
        incoming = Incoming(row.user_id, key, "schedule", data, local.date(), space_id=row.space_id)
        await run(session, RuleSet([compiled(row)]), incoming, settings.max_chain_depth)
        row.next_run_at = next_fire(row.cron, zone(tz_name), max(now, row.next_run_at))
    return len(rows)


async def loop(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        fired = 0
        try:
            async with app.state.db.sessions() as session, session.begin():
                fired = await fire_due(session, settings, datetime.now(UTC))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # database restarting: try again on the next tick
            log.warning("scheduler tick failed", error=str(exc)[:300])
        if fired < settings.scheduler_batch:
            await asyncio.sleep(settings.scheduler_interval_seconds)
