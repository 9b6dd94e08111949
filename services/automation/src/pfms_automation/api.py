"""HTTP routes of the automation service: the caller's rules, their runs, dry runs and apply jobs — their
personal ones, or with `X-Space-ID` a shared space's (viewers read; changing or running them needs write)."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status
from sqlalchemy import func, select

from pfms_automation import jobs, rules, store
from pfms_automation.cache import RuleCache
from pfms_automation.conditions import RuleError, serialize
from pfms_automation.engine import Incoming, Outcome, run
from pfms_automation.models import AutomationJob, AutomationRule, RuleExecution
from pfms_automation.scheduler import plan_next
from pfms_automation.schemas import (
    Apply,
    Execution,
    Job,
    JobDetail,
    Reorder,
    Rule,
    RuleCreate,
    RuleTest,
    RuleUpdate,
    TestReport,
    TriggerRequest,
    TriggerResult,
)
from pfms_automation.settings import Settings
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Invalid
from pfms_platform.spaces import CurrentScope, Scope

router = APIRouter(prefix="/api/v1/automation", tags=["automation"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such rule or job in the caller's scope, or a space the caller is not in"}
}
Page = Annotated[PageParams, Depends()]


def cache_of(request: Request) -> RuleCache:
    cache: RuleCache = request.app.state.rule_cache
    return cache


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def rule_json(row: AutomationRule) -> dict[str, Any]:
    return Rule(
        id=row.id,
        space_id=row.space_id,
        name=row.name,
        description=row.description,
        enabled=row.enabled,
        priority=row.priority,
        trigger=rules.trigger_json(row.event_type, row.cron, row.timezone),
        conditions=row.conditions,
        actions=row.actions,
        stop_processing=row.stop_processing,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        run_count=row.run_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


def checked(trigger: Any, conditions: Any, actions: Any) -> rules.RuleSpec:
    try:
        return rules.check(trigger, conditions, actions)
    except RuleError as exc:
        raise Invalid(f"Invalid value for '{exc.path}': {exc.message}", field=exc.path) from exc


def _set_spec(row: AutomationRule, spec: rules.RuleSpec) -> None:
    row.event_type = spec.trigger.event_type
    row.cron = spec.trigger.cron
    row.timezone = spec.trigger.timezone
    row.conditions = serialize(spec.conditions)
    row.actions = spec.actions


async def _schedule(session: Session, row: AutomationRule) -> None:
    try:
        plan_next(row, await store.user_timezone(session, row.user_id), datetime.now(UTC))
    except RuleError as exc:
        raise Invalid(f"Invalid value for '{exc.path}': {exc.message}", field=exc.path) from exc


@router.get("/rules", response_model=PageEnvelope[Rule])
async def list_rules(
    scope: CurrentScope,
    session: Session,
    page: Page,
    enabled: bool | None = None,
    trigger: Annotated[str | None, Query(max_length=100, description="An event type, or `schedule`")] = None,
) -> dict[str, Any]:
    """The scope's rules in run order."""
    where = [scope.owns(AutomationRule)]
    if enabled is not None:
        where.append(AutomationRule.enabled.is_(enabled))
    if trigger == rules.SCHEDULE:
        where.append(AutomationRule.cron.is_not(None))
    elif trigger is not None:
        where.append(AutomationRule.event_type == trigger)
    total = await session.scalar(select(func.count()).select_from(AutomationRule).where(*where)) or 0
    rows = await session.scalars(
        select(AutomationRule)
        .where(*where)
        .order_by(AutomationRule.priority, AutomationRule.created_at, AutomationRule.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([rule_json(r) for r in rows], page, total)


@router.post("/rules", status_code=status.HTTP_201_CREATED, response_model=Envelope[Rule])
async def create_rule(
    body: RuleCreate, scope: CurrentScope, session: Session, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    scope.require("write")
    spec = checked(body.trigger, body.conditions, body.actions)
    count = (
        await session.scalar(select(func.count()).select_from(AutomationRule).where(scope.owns(AutomationRule))) or 0
    )
    if count >= settings_of(request).rules_per_user:
        raise Conflict(f"At most {settings_of(request).rules_per_user} rules per user", field="body")
    row = AutomationRule(
        id=uuid.uuid4(),
        **scope.owner_values(),
        name=body.name,
        description=body.description,
        enabled=body.enabled,
        priority=body.priority,
        stop_processing=body.stop_processing,
        run_count=0,
    )
    _set_spec(row, spec)
    await _schedule(session, row)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    background.add_task(cache_of(request).changed, scope)
    return ok(rule_json(row))


@router.get("/rules/{rule_id}", response_model=Envelope[Rule], responses=NOT_FOUND)
async def get_rule(rule_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(rule_json(await store.rule(session, scope, rule_id)))


@router.put("/rules/{rule_id}", response_model=Envelope[Rule], responses=NOT_FOUND)
async def update_rule(
    rule_id: uuid.UUID,
    body: RuleUpdate,
    scope: CurrentScope,
    session: Session,
    request: Request,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Partial update; a new trigger, conditions or actions are checked together with the rest of the rule."""
    row = await store.rule(session, scope.require("write"), rule_id, lock=True)
    sent = body.changes()
    if {"trigger", "conditions", "actions"} & sent.keys():
        current = rules.trigger_json(row.event_type, row.cron, row.timezone)
        trigger = sent.get("trigger", {k: v for k, v in current.items() if v is not None})
        spec = checked(trigger, sent.get("conditions", row.conditions), sent.get("actions", row.actions))
        _set_spec(row, spec)
    for name in ("name", "description", "enabled", "priority", "stop_processing"):
        if name in sent:
            setattr(row, name, sent[name])
    row.updated_at = datetime.now(UTC)
    await _schedule(session, row)
    await session.flush()
    background.add_task(cache_of(request).changed, scope)
    return ok(rule_json(row))


@router.delete("/rules/{rule_id}", response_model=Envelope[Rule], responses=NOT_FOUND)
async def delete_rule(
    rule_id: uuid.UUID, scope: CurrentScope, session: Session, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    """Deletes the rule; its executions and jobs stay in the log."""
    row = await store.rule(session, scope.require("write"), rule_id, lock=True)
    shown = rule_json(row)
    await session.delete(row)
    background.add_task(cache_of(request).changed, scope)
    return ok(shown)


async def _switch(
    rule_id: uuid.UUID, scope: Scope, session: Session, request: Request, background: BackgroundTasks, on: bool
) -> dict[str, Any]:
    row = await store.rule(session, scope.require("write"), rule_id, lock=True)
    row.enabled = on
    row.updated_at = datetime.now(UTC)
    await _schedule(session, row)
    await session.flush()
    background.add_task(cache_of(request).changed, scope)
    return ok(rule_json(row))


@router.post("/rules/{rule_id}/enable", response_model=Envelope[Rule], responses=NOT_FOUND)
async def enable_rule(
    rule_id: uuid.UUID, scope: CurrentScope, session: Session, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    return await _switch(rule_id, scope, session, request, background, True)


@router.post("/rules/{rule_id}/disable", response_model=Envelope[Rule], responses=NOT_FOUND)
async def disable_rule(
    rule_id: uuid.UUID, scope: CurrentScope, session: Session, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    return await _switch(rule_id, scope, session, request, background, False)


@router.post("/rules/reorder", response_model=Envelope[list[Rule]], responses=NOT_FOUND)
async def reorder_rules(
    body: Reorder, scope: CurrentScope, session: Session, request: Request, background: BackgroundTasks
) -> dict[str, Any]:
    """Sets priorities 10, 20, 30, … in the order given; rules not listed keep theirs."""
    scope.require("write")
    if len(set(body.rule_ids)) != len(body.rule_ids):
        raise Invalid("Each rule may appear once", field="rule_ids")
    rows = {
        r.id: r
        for r in await session.scalars(
            select(AutomationRule)
            .where(scope.owns(AutomationRule), AutomationRule.id.in_(body.rule_ids))
            .with_for_update()
        )
    }
    missing = [i for i, rid in enumerate(body.rule_ids) if rid not in rows]
    if missing:
        raise Invalid("Not one of your rules", field=f"rule_ids.{missing[0]}")
    now = datetime.now(UTC)
    for position, rid in enumerate(body.rule_ids, start=1):
        rows[rid].priority = position * 10
        rows[rid].updated_at = now
    await session.flush()
    background.add_task(cache_of(request).changed, scope)
    return ok([rule_json(rows[rid]) for rid in body.rule_ids])


@router.post("/rules/{rule_id}/test", response_model=Envelope[TestReport], responses=NOT_FOUND)
async def test_rule(rule_id: uuid.UUID, body: RuleTest, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Dry run on a sample event or the last N remembered events (schedules: the next N fires); no side effects."""
    row = await store.rule(session, scope, rule_id)
    report = await jobs.dry_run(session, row, body.event, body.last)
    return ok(TestReport.model_validate(report).model_dump(mode="json"))


def job_json(row: AutomationJob) -> dict[str, Any]:
    return Job.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.post("/rules/{rule_id}/apply", status_code=status.HTTP_201_CREATED, response_model=Envelope[Job])
async def apply_rule(rule_id: uuid.UUID, body: Apply, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Run the rule over remembered events about days in [from, to] as a recorded, revertible job."""
    row = await store.rule(session, scope.require("write"), rule_id)
    return ok(job_json(await jobs.apply(session, row, body.from_, body.to, by=scope.user_id)))


@router.get("/jobs", response_model=PageEnvelope[Job])
async def list_jobs(scope: CurrentScope, session: Session, page: Page) -> dict[str, Any]:
    where = scope.owns(AutomationJob)
    total = await session.scalar(select(func.count()).select_from(AutomationJob).where(where)) or 0
    rows = await session.scalars(
        select(AutomationJob)
        .where(where)
        .order_by(AutomationJob.created_at.desc(), AutomationJob.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([job_json(r) for r in rows], page, total)


async def _job_detail(session: Session, row: AutomationJob) -> dict[str, Any]:
    items = [
        {
            "id": c.id,
            "event_id": c.event_id,
            "action": c.action,
            "request_id": c.request_id,
            "change": c.change,
            "revertible": c.undo is not None,
            "reverted": c.reverted,
        }
        for c in await jobs.changes(session, row)
    ]
    return JobDetail.model_validate({**job_json(row), "changes": items}).model_dump(mode="json")


@router.get("/jobs/{job_id}", response_model=Envelope[JobDetail], responses=NOT_FOUND)
async def get_job(job_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """The job and every change it asked for, with whether it can be (or was) reverted."""
    return ok(await _job_detail(session, await store.job(session, scope, job_id)))


@router.post(
    "/jobs/{job_id}/revert",
    response_model=Envelope[JobDetail],
    responses={**NOT_FOUND, 409: {"description": "Not a completed job"}},
)
async def revert_job(job_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    row = await store.job(session, scope.require("write"), job_id, lock=True)
    return ok(await _job_detail(session, await jobs.revert(session, row)))


@router.get("/executions", response_model=PageEnvelope[Execution])
async def list_executions(
    scope: CurrentScope,
    session: Session,
    page: Page,
    rule_id: uuid.UUID | None = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(succeeded|failed|loop_stopped)$")] = None,
) -> dict[str, Any]:
    """The log of rule runs, newest first."""
    where = [scope.owns(RuleExecution)]
    if rule_id is not None:
        where.append(RuleExecution.rule_id == rule_id)
    if status_ is not None:
        where.append(RuleExecution.status == status_)
    total = await session.scalar(select(func.count()).select_from(RuleExecution).where(*where)) or 0
    rows = await session.scalars(
        select(RuleExecution)
        .where(*where)
        .order_by(RuleExecution.created_at.desc(), RuleExecution.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    items = [Execution.model_validate(r, from_attributes=True).model_dump(mode="json") for r in rows]
    return paged(items, page, total)


def outcomes_json(event_id: str, outcomes: list[Outcome]) -> dict[str, Any]:
    return TriggerResult(
        event_id=event_id,
        executions=[
            {"rule_id": o.rule_id, "status": o.status, "actions": o.actions, "duplicate": o.duplicate} for o in outcomes
        ],
    ).model_dump(mode="json")


async def trigger_rules(
    session: Session,
    request: Request,
    user: uuid.UUID,
    body: TriggerRequest,
    depth: int,
    space_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Run the owner's rules on a supplied event: the space's when `space_id` is given (the event then
    carries it), else the user's personal rules."""
    data = jobs.event_data(body.event_type, body.data, user, "data", "event_type")
    data.pop("space_id", None)
    if space_id is not None:
        data["space_id"] = str(space_id)
    event_id = body.event_id or str(uuid.uuid4())
    found = await cache_of(request).rules(session, Scope(user, space_id, "owner"), body.event_type)
    today = store.event_date(data, datetime.now(UTC).date())
    incoming = Incoming(user, event_id, body.event_type, data, today, depth=depth, space_id=space_id)
    outcomes = await run(session, found, incoming, settings_of(request).max_chain_depth)
    return outcomes_json(event_id, outcomes)


@router.post("/trigger", response_model=Envelope[TriggerResult])
async def trigger(body: TriggerRequest, scope: CurrentScope, session: Session, request: Request) -> dict[str, Any]:
    """Run the scope's rules on a supplied event now (acting as a live event would); once per `event_id`."""
    scope.require("write")
    return ok(await trigger_rules(session, request, scope.user_id, body, depth=1, space_id=scope.space_id))
