"""The scheduled auto-save loop: fixed amounts into goals daily, weekly or monthly.

It runs in every instance. A pass claims due rules (`next_run_on <= today`) with `SELECT ... FOR
UPDATE SKIP LOCKED`, so two instances never work on the same rule, and records one contribution per
run date that has passed since the rule last ran: after downtime the missed runs are caught up, each
dated on its own day. The unique (rule_id, source_ref = run date) key makes a run pay once even if
two passes ever met. A rule whose goal is paused or archived skips its runs (no catch-up later).
"Today" comes from `Settings.today()` (injectable outside production).
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date

from fastapi import FastAPI
from sqlalchemy import select, true
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.recurrence import Frequency, next_occurrence
from pfms_platform.db import Database
from pfms_platform.logging import get_logger
from pfms_savings import domain, store
from pfms_savings.domain import EntryKind, EntrySource, GoalStatus, RuleKind
from pfms_savings.models import AutoSaveRule, Goal

log = get_logger(__name__)

CLAIM = 50


@dataclass
class Tally:
    rules: int = 0
    contributions: int = 0
    skipped: int = 0


async def run_rule(session: AsyncSession, rule: AutoSaveRule, goal: Goal, today: date, limit: int) -> Tally:
    """Every run of one locked rule due through `today` (at most `limit`), then its next run date."""
    assert rule.start_date and rule.frequency and rule.next_run_on and rule.amount
    frequency = Frequency(rule.frequency)
    tally = Tally(rules=1)
    runs = domain.due_runs(rule.start_date, frequency, rule.next_run_on, today, limit)
    if goal.status != GoalStatus.ACTIVE:
        tally.skipped = len(runs)
        rule.next_run_on = next_occurrence(rule.start_date, frequency, today)
        return tally
    for day in runs:
        entry = store.Entry(
            EntryKind.CONTRIBUTION,
            rule.amount,
            day,
            EntrySource.SCHEDULED,
            rule.id,
            day.isoformat(),
            rule.name,
            by=rule.user_id,
        )
        if await store.record(session, goal, entry) is not None:
            tally.contributions += 1
    if runs:
        rule.last_run_on = runs[-1]
        rule.next_run_on = next_occurrence(rule.start_date, frequency, runs[-1])
    else:  # next_run_on is not an occurrence (edited schedule): move it onto the schedule
        rule.next_run_on = next_occurrence(rule.start_date, frequency, today)
    return tally


async def run_scheduled(db: Database, today: date, limit: int) -> Tally:
    """Claim due scheduled rules a batch per transaction until none is left for `today`."""
    tally = Tally()
    failed: set[uuid.UUID] = set()
    while True:
        async with db.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(AutoSaveRule, Goal)
                    .join(Goal, Goal.id == AutoSaveRule.goal_id)
                    .where(
                        AutoSaveRule.kind == RuleKind.SCHEDULED.value,
                        AutoSaveRule.active,
                        AutoSaveRule.next_run_on <= today,
                        AutoSaveRule.id.not_in(failed) if failed else true(),
                    )
                    .order_by(AutoSaveRule.next_run_on, AutoSaveRule.id)
                    .limit(CLAIM)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for rule, goal in rows:
                try:
                    async with session.begin_nested():
                        done = await run_rule(session, rule, goal, today, limit)
                        tally.rules += done.rules
                        tally.contributions += done.contributions
                        tally.skipped += done.skipped
                except Exception as exc:  # one broken rule must not stop the others; retried next pass
                    failed.add(rule.id)
                    log.warning("scheduled rule failed", rule_id=str(rule.id), error=str(exc)[:300])
        if len(rows) < CLAIM:
            return tally


async def run(app: FastAPI) -> None:
    """The background loop; a failed pass is logged and the next one tries again."""
    settings = app.state.settings
    await app.state.bus.wait_connected()
    while True:
        try:
            tally = await run_scheduled(app.state.db, settings.today(), settings.catch_up_limit)
            if tally.rules:
                log.info("auto-save pass", day=settings.today().isoformat(), **vars(tally))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("auto-save pass failed", error=str(exc)[:300])
        await asyncio.sleep(settings.jobs_interval_seconds)
