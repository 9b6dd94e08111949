"""Dry runs and apply jobs: a rule over a sample or the remembered events, and the undo of an apply.

History is bounded (the last `history_per_user` events of each user), so an apply job runs to the
end inside its request and the job row records the result; each change it asked for is a
`job_changes` row holding what undoes it, if anything can.
"""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation import store
from pfms_automation.actions import NAMESPACE, Context, plan, reversal
from pfms_automation.cache import compiled
from pfms_automation.engine import Incoming, run
from pfms_automation.evaluation import explain
from pfms_automation.models import AutomationJob, AutomationRule, JobChange
from pfms_automation.rules import SCHEDULE, TRIGGER_EVENTS, CompiledRule, RuleSet, lifecycle
from pfms_automation.schedule import next_fire, zone
from pfms_automation.scheduler import timezone_of
from pfms_automation.schemas import SampleEvent
from pfms_contracts import event_model
from pfms_contracts.expense import ExpenseAmendRequested
from pfms_platform.errors import Conflict, Invalid
from pfms_platform.errors import validation_details as details_of
from pfms_platform.events.outbox import emit

MAX_SCAN = 500


def event_data(
    event_type: str, data: dict[str, Any], user_id: uuid.UUID, field: str, type_field: str
) -> dict[str, Any]:
    """A client-supplied event checked against its contract (errors name e.g. `data.amount`)."""
    if event_type not in TRIGGER_EVENTS:
        raise Invalid("Not an event type rules can trigger on", field=type_field)
    try:
        model = event_model(event_type).model_validate({**data, "user_id": str(user_id)})
    except ValidationError as exc:
        found = [{**d, "field": f"{field}.{d['field']}"} for d in details_of(list(exc.errors()))]
        raise Invalid(f"Invalid value for '{found[0]['field']}'", details=found) from exc
    return model.model_dump(mode="json", exclude={"user_id"})


def _preview(
    rule: CompiledRule, row: AutomationRule, key: str, trigger: str, data: dict[str, Any], today: date
) -> dict[str, Any]:
    matched, trace = explain(rule.condition, data)
    ctx = Context(row.user_id, rule.id, key, trigger, data, today, row.space_id)
    planned = plan(rule.actions, ctx) if matched else []
    return {
        "matched": matched,
        "conditions": trace,
        "actions": [{"action": p.action, "requested": p.event is not None, **p.change} for p in planned],
    }


async def dry_run(
    session: AsyncSession, row: AutomationRule, sample: SampleEvent | None, last: int | None
) -> dict[str, Any]:
    """Evaluate the rule without side effects: per event, whether and why it matched and what it would ask."""
    trigger = row.event_type or SCHEDULE
    rule = compiled(row)
    results: list[dict[str, Any]] = []
    if sample is not None:
        if sample.event_type not in (None, trigger):
            raise Invalid("The sample must be an event of the rule's trigger", field="event.event_type")
        data = (
            event_data(trigger, sample.data, row.user_id, "event.data", "event.event_type")
            if row.event_type
            else sample.data
        )
        day = store.event_date(data, datetime.now(UTC).date())
        results.append(
            {
                "event_id": None,
                "event_type": trigger,
                "event_date": day,
                **_preview(rule, row, "test", trigger, data, day),
            }
        )
    elif row.event_type:
        for event in await store.recent_events(session, row, (row.event_type,), limit=last or 20):
            preview = _preview(rule, row, f"test:{event.event_id}", trigger, event.data, event.event_date)
            results.append(
                {"event_id": event.event_id, "event_type": trigger, "event_date": event.event_date, **preview}
            )
    else:
        assert row.cron is not None
        tz_name = timezone_of(row, await store.user_timezone(session, row.user_id))
        instant = datetime.now(UTC)
        for _ in range(min(last or 5, 50)):
            instant = next_fire(row.cron, zone(tz_name), instant)
            local = instant.astimezone(zone(tz_name))
            data = {"scheduled_for": local.isoformat(), "date": local.date().isoformat(), "timezone": tz_name}
            preview = _preview(rule, row, f"test:{instant.isoformat()}", trigger, data, local.date())
            results.append({"event_id": None, "event_type": trigger, "event_date": local.date(), **preview})
    return {
        "rule_id": row.id,
        "evaluated": len(results),
        "matched": sum(1 for r in results if r["matched"]),
        "results": results,
    }


async def apply(
    session: AsyncSession, row: AutomationRule, first: date, last: date, by: uuid.UUID | None = None
) -> AutomationJob:
    """Run the rule over the latest remembered state of each expense (income, …) about a day in [first, last].

    `by`: who applies it (a member of the rule's space; default the rule's author), in whose name it acts.

    An expense created and then edited is judged on its edit, and one since deleted is left alone,
    so a rule never acts on a state that no longer holds.
    """
    if row.event_type is None:
        raise Invalid("A scheduled rule has no past events to apply to", field="trigger")
    actor = by or row.user_id
    job = AutomationJob(
        id=uuid.uuid4(),
        user_id=actor,
        space_id=row.space_id,
        rule_id=row.id,
        kind="apply",
        status="running",
        date_from=first,
        date_to=last,
    )
    session.add(job)
    rule = RuleSet([compiled(row)])
    events = await store.recent_events(session, row, lifecycle(row.event_type), limit=MAX_SCAN)
    seen: set[str] = set()
    for event in events:  # newest first: the first event of a subject is its latest state
        if event.subject_id is not None:
            if event.subject_id in seen:
                continue
            seen.add(event.subject_id)
        if event.event_type.endswith(".deleted") or not first <= event.event_date <= last:
            continue
        job.events_scanned += 1
        incoming = Incoming(
            actor,
            f"apply:{job.id}:{event.event_id}",
            row.event_type,
            event.data,
            event.event_date,
            space_id=row.space_id,
        )
        for outcome in await run(session, rule, incoming, max_depth=1):
            job.events_matched += 1
            for index, planned in enumerate(outcome.planned):
                if planned.event is None:
                    continue
                job.actions_requested += 1
                session.add(
                    JobChange(
                        id=uuid.uuid4(),
                        job_id=job.id,
                        user_id=actor,
                        event_id=event.event_id,
                        action=planned.action,
                        request_id=getattr(planned.event, "request_id", None),
                        change={"index": index, **planned.change},
                        undo=reversal(planned.change, planned.action),
                    )
                )
    job.status = "completed"
    job.finished_at = datetime.now(UTC)
    await session.flush()
    return job


async def changes(session: AsyncSession, job: AutomationJob) -> list[JobChange]:
    rows = await session.scalars(
        select(JobChange)
        .where(JobChange.job_id == job.id, JobChange.user_id == job.user_id)
        .order_by(JobChange.event_id, JobChange.change["index"].as_integer())
    )
    return list(rows)


async def revert(session: AsyncSession, job: AutomationJob) -> AutomationJob:
    """Ask the expense service to undo each revertible change: restore the category, remove added tags."""
    if job.status != "completed":
        raise Conflict(f"Only a completed job can be reverted (this one is {job.status})", field="status")
    for change in await changes(session, job):
        if change.undo is None or change.reverted:
            continue
        undo = change.undo
        await emit(
            session,
            ExpenseAmendRequested(
                user_id=job.user_id,
                request_id=uuid.uuid5(NAMESPACE, f"revert:{change.id}"),
                expense_id=undo["expense_id"],
                category_id=undo.get("category_id"),
                category_name=undo.get("category_name"),
                remove_tags=undo.get("remove_tags", []),
                requested_by=f"automation:job:{job.id}:revert",
                **({} if job.space_id is None else {"space_id": job.space_id}),
            ),
        )
        change.reverted = True
        job.changes_reverted += 1
    job.status = "reverted"
    job.reverted_at = datetime.now(UTC)
    await session.flush()
    return job
