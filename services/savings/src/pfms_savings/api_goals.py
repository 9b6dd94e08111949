"""HTTP routes of goals, their contributions and withdrawals, and their progress.

Every route acts on the goals of the caller's scope only (another user's or space's goal is a 404): their
personal goals, or with `X-Space-ID` the goals of a shared space they are in (viewers read only; members and
above also write). A space goal's contributions are every member's.
"""

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.currency import quantize
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid
from pfms_platform.reads import Reads, Where, json_response, page_statement
from pfms_platform.spaces import CurrentScope, Scope
from pfms_savings import domain, store
from pfms_savings.domain import EntryKind
from pfms_savings.models import Contribution, Goal
from pfms_savings.schemas import EntryCreate, EntryOut, GoalCreate, GoalOut, GoalQuery, GoalUpdate, Progress
from pfms_savings.settings import Settings

router = APIRouter(prefix="/api/v1/savings/goals", tags=["goals"])

GOAL_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such goal in the caller's scope (or no such space of theirs)"}
}
WRITE: dict[int | str, dict[str, Any]] = {403: {"description": "A viewer of the space may not change it"}}
SPACE_404: dict[int | str, dict[str, Any]] = {404: {"description": "X-Space-ID names no space of the caller's"}}


def today(request: Request) -> dt.date:
    settings: Settings = request.app.state.settings
    return settings.today()


def goal_out(goal: Goal) -> dict[str, Any]:
    return GoalOut.model_validate(goal, from_attributes=True).model_dump(mode="json")


def entry_out(entry: Contribution, goal: Goal, saved: Any = None) -> dict[str, Any]:
    return EntryOut(
        id=entry.id,
        goal_id=entry.goal_id,
        kind=EntryKind(entry.kind),
        amount=entry.amount,
        currency=goal.currency,
        date=entry.contributed_on,
        source=domain.EntrySource(entry.source),
        rule_id=entry.rule_id,
        source_ref=entry.source_ref,
        note=entry.note,
        created_at=entry.created_at,
        contributed_by=entry.user_id,
        saved_amount=saved,
    ).model_dump(mode="json")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[GoalOut], responses=WRITE | SPACE_404)
async def create_goal(body: GoalCreate, scope: CurrentScope, session: Session) -> dict[str, Any]:
    scope.require("write")
    store.check_amount(body.target_amount, body.currency, "target_amount")
    goal = Goal(id=uuid.uuid4(), **scope.owner_values(), status=domain.GoalStatus.ACTIVE.value, **body.model_dump())
    session.add(goal)
    await session.flush()
    await session.refresh(goal)
    return ok(goal_out(goal))


GOAL_FIELDS = tuple(GoalOut.model_fields)
"""Every field of `GoalOut` is a column of `goals`: the list selects them, in the model's order."""


def goal_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`goal_out` of a selected row without building the models (the list is a hot read)."""
    out = {name: row[name] for name in GOAL_FIELDS}
    for name in GoalOut.money_fields:
        out[name] = quantize(out[name], out["currency"])
    return out


@router.get("", response_model=PageEnvelope[GoalOut], responses=SPACE_404)
async def list_goals(query: Annotated[GoalQuery, Query()], scope: CurrentScope, reads: Reads) -> Response:
    """Newest first; filter by status and category. One statement on the read pool (pfms_platform.reads)."""
    where = Where()
    where.scope(scope)
    if query.status:
        where.add("status = {}", query.status.value)
    if query.category:
        where.add("category = {}", query.category.value)
    limit, offset = where.param(query.limit), where.param(query.offset)
    sql = page_statement("goals", ", ".join(GOAL_FIELDS), where.sql, "created_at DESC, id", limit, offset)
    total, rows = await reads.page(sql, *where.args)
    return json_response(paged([goal_row(r) for r in rows], query, total))


@router.get("/{goal_id}", response_model=Envelope[GoalOut], responses=GOAL_404)
async def get_goal(goal_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(goal_out(await store.goal_of(session, scope, goal_id)))


@router.patch("/{goal_id}", response_model=Envelope[GoalOut], responses=GOAL_404 | WRITE)
async def update_goal(
    goal_id: uuid.UUID, body: GoalUpdate, scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Partial update; a lower target can reach milestones at once (announced like any other)."""
    scope.require("write")
    goal = await store.goal_of(session, scope, goal_id, lock=True)
    changes = body.changes()
    if "target_amount" in changes:
        store.check_amount(changes["target_amount"], goal.currency, "target_amount")
    for key, value in changes.items():
        setattr(goal, key, value.value if isinstance(value, StrEnum) else value)
    if session.is_modified(goal):
        goal.updated_at = dt.datetime.now(dt.UTC)
        await store.announce_thresholds(session, goal, today(request))
        await session.flush()
    return ok(goal_out(goal))


@router.delete("/{goal_id}", response_model=Envelope[GoalOut], responses=GOAL_404 | WRITE)
async def delete_goal(goal_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """The goal goes with its entries, milestones and rules (every member's); the answer is its last state."""
    scope.require("write")
    goal = await store.goal_of(session, scope, goal_id, lock=True)
    shown = goal_out(goal)
    await session.delete(goal)
    return ok(shown)


async def _move(
    kind: EntryKind, goal_id: uuid.UUID, body: EntryCreate, scope: Scope, session: AsyncSession, request: Request
) -> dict[str, Any]:
    scope.require("write")
    goal = await store.goal_of(session, scope, goal_id, lock=True)
    store.refuse_archived(goal)
    if body.currency is not None and body.currency != goal.currency:
        raise Invalid(f"The goal is in {goal.currency}", field="currency")
    store.check_amount(body.amount, goal.currency)
    day = body.date or today(request)
    if day > today(request):
        raise Invalid("The date may not be in the future", field="date")
    entry = await store.record(session, goal, store.Entry(kind, body.amount, day, note=body.note, by=scope.user_id))
    assert entry is not None  # a manual entry has no source key, so it always records
    return ok(entry_out(entry, goal, goal.saved_amount))


@router.post(
    "/{goal_id}/contribute",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[EntryOut],
    responses=GOAL_404 | WRITE,
)
async def contribute(
    goal_id: uuid.UUID, body: EntryCreate, scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Add money to the goal; may reach milestones (goal.milestone_reached) and the target (goal.achieved)."""
    return await _move(EntryKind.CONTRIBUTION, goal_id, body, scope, session, request)


@router.post(
    "/{goal_id}/withdraw",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[EntryOut],
    responses=GOAL_404 | WRITE,
)
async def withdraw(
    goal_id: uuid.UUID, body: EntryCreate, scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Take money out; never below zero (422 INSUFFICIENT_SAVINGS on `amount`). Milestones stay reached."""
    return await _move(EntryKind.WITHDRAWAL, goal_id, body, scope, session, request)


@router.get("/{goal_id}/contributions", response_model=PageEnvelope[EntryOut], responses=GOAL_404)
async def list_entries(
    goal_id: uuid.UUID, page: Annotated[PageParams, Query()], scope: CurrentScope, session: Session
) -> dict[str, Any]:
    """Contributions and withdrawals, newest first (in a space goal, every member's)."""
    goal = await store.goal_of(session, scope, goal_id)
    where = (Contribution.goal_id == goal.id,)
    total = await session.scalar(select(func.count()).select_from(Contribution).where(*where)) or 0
    rows = await session.scalars(
        select(Contribution)
        .where(*where)
        .order_by(Contribution.contributed_on.desc(), Contribution.created_at.desc(), Contribution.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([entry_out(e, goal) for e in rows], page, total)


@router.get("/{goal_id}/progress", response_model=Envelope[Progress], responses=GOAL_404)
async def progress(goal_id: uuid.UUID, scope: CurrentScope, session: Session, request: Request) -> dict[str, Any]:
    """Saved, percentage, the monthly pace the target date needs, and where the history's pace lands."""
    goal = await store.goal_of(session, scope, goal_id)
    history, count = await store.history(session, goal)
    day = today(request)
    remaining = max(goal.target_amount - goal.saved_amount, Decimal(0))
    projected = domain.projected_completion(remaining, history, day)
    return ok(
        Progress(
            goal_id=goal.id,
            target_amount=goal.target_amount,
            saved_amount=goal.saved_amount,
            remaining=remaining,
            currency=goal.currency,
            percentage=domain.percentage(goal.saved_amount, goal.target_amount),
            target_date=goal.target_date,
            required_monthly=(
                domain.required_monthly(remaining, day, goal.target_date, goal.currency) if goal.target_date else None
            ),
            average_daily_saving=domain.daily_rate(history, day).quantize(Decimal("0.0001")),
            projected_completion_date=projected,
            on_track=domain.on_track(remaining, projected, goal.target_date),
            achieved=goal.achieved_at is not None,
            milestones_reached=await store.milestones_of(session, goal.id),
            contributions=count,
            as_of=day,
        ).model_dump(mode="json")
    )
