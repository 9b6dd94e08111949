"""Running rules on an event: loop protection, exactly-once execution, logging and publishing.

Each matching rule's run is one `rule_executions` row, unique per (rule, event): a redelivered or
re-submitted event finds the row and does nothing again. Actions leave as events in the caller's
transaction, and a `rule.executed` event reports every run.
"""

import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation.actions import Context, Planned, plan
from pfms_automation.models import AutomationRule, RuleExecution
from pfms_automation.rules import CompiledRule, RuleSet
from pfms_contracts.automation import RuleExecuted
from pfms_platform.events.outbox import emit
from pfms_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Incoming:
    """An event (or a schedule's fire) the user's rules run on."""

    user_id: uuid.UUID
    event_id: str
    trigger: str
    data: dict[str, Any]
    today: date
    depth: int = 1
    """How many events led here, this one included (the platform's causation chain)."""
    space_id: uuid.UUID | None = None
    """The space the event (or the scheduled rule) belongs to; its rules act within it."""


@dataclass(frozen=True)
class Outcome:
    rule_id: uuid.UUID
    status: str
    actions: list[str]
    duplicate: bool = False
    planned: list[Planned] = field(default_factory=list)
    """What the run asked for (empty for a duplicate, a failure or a loop stop)."""


async def run(session: AsyncSession, rules: RuleSet, incoming: Incoming, max_depth: int) -> list[Outcome]:
    """Run the matching rules in order; past `max_depth` log them as loop_stopped and do nothing."""
    outcomes = []
    for rule in rules.matching(incoming.data):
        if incoming.depth > max_depth:
            error = f"causation chain of {incoming.depth} events exceeds the limit of {max_depth}"
            outcomes.append(await _record(session, rule, incoming, "loop_stopped", [], {}, error, 0.0))
            continue
        outcomes.append(await _execute(session, rule, incoming))
    return outcomes


async def _execute(session: AsyncSession, rule: CompiledRule, incoming: Incoming) -> Outcome:
    started = time.perf_counter()
    ctx = Context(
        incoming.user_id,
        rule.id,
        f"{rule.id}:{incoming.event_id}",
        incoming.trigger,
        incoming.data,
        incoming.today,
        incoming.space_id,
    )
    try:
        planned = plan(rule.actions, ctx)
    except Exception as exc:  # a stored action the data cannot satisfy: logged as the rule's failure
        log.warning("rule failed", rule_id=str(rule.id), error=repr(exc)[:300])
        elapsed = (time.perf_counter() - started) * 1000
        return await _record(session, rule, incoming, "failed", [], {}, repr(exc)[:1000], elapsed)
    changes = [{"action": p.action, "requested": p.event is not None, **p.change} for p in planned]
    done = [p.action for p in planned if p.event is not None]
    elapsed = (time.perf_counter() - started) * 1000
    outcome = await _record(session, rule, incoming, "succeeded", done, {"actions": changes}, None, elapsed)
    if outcome.duplicate:
        return outcome
    for p in planned:
        if p.event is not None:
            await emit(session, p.event)
    return replace(outcome, planned=planned)


async def _record(
    session: AsyncSession,
    rule: CompiledRule,
    incoming: Incoming,
    status: str,
    actions: list[str],
    result: dict[str, Any],
    error: str | None,
    duration_ms: float,
) -> Outcome:
    """Log the run once per (rule, event) and announce it; a second run of the same pair is a no-op."""
    execution_id = uuid.uuid4()
    inserted = await session.execute(
        insert(RuleExecution)
        .values(
            id=execution_id,
            user_id=incoming.user_id,
            space_id=incoming.space_id,
            rule_id=rule.id,
            event_id=incoming.event_id,
            trigger=incoming.trigger,
            status=status,
            input={"event_id": incoming.event_id, "type": incoming.trigger, "data": incoming.data},
            result=result,
            error=error,
            duration_ms=Decimal(f"{duration_ms:.3f}"),
            chain_depth=incoming.depth,
        )
        .on_conflict_do_nothing(constraint="uq_rule_executions_rule_event")
        .returning(RuleExecution.id)
    )
    if inserted.first() is None:
        return Outcome(rule.id, status, actions, duplicate=True)
    await session.execute(
        update(AutomationRule)
        .where(AutomationRule.id == rule.id)
        .values(
            last_run_at=datetime.now(UTC),
            run_count=AutomationRule.run_count + 1,
            updated_at=AutomationRule.updated_at,  # a run is not a change of the rule: its compiled copy stays
        )
    )
    await emit(
        session,
        RuleExecuted(
            user_id=incoming.user_id,
            rule_id=rule.id,
            rule_name=rule.name,
            execution_id=execution_id,
            trigger=incoming.trigger,
            trigger_event_id=incoming.event_id,
            status=status,
            actions=actions,
            error=error,
            space_id=incoming.space_id,
        ),
    )
    return Outcome(rule.id, status, actions)
