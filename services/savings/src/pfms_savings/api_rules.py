"""HTTP routes of auto-save rules and the emergency-fund recommendation (the caller's own rows only).

A rule follows its goal's scope: with `X-Space-ID` the rules on that space's goals, made by any member,
are listed and managed there (viewers read only). The emergency-fund recommendation is personal.
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.recurrence import Frequency, index_on_or_after, occurrence
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.security import CurrentUser
from pfms_platform.spaces import CurrentScope, Scope
from pfms_savings import domain, store
from pfms_savings.api_goals import today
from pfms_savings.domain import RuleKind
from pfms_savings.models import AutoSaveRule, Goal
from pfms_savings.schemas import EmergencyFundOut, FundOut, RuleCreate, RuleOut, RuleUpdate
from pfms_savings.settings import Settings

router = APIRouter(prefix="/api/v1/savings", tags=["auto-save", "recommendations"])

RULE_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such rule (or goal) in the caller's scope (or no such space of theirs)"}
}
WRITE: dict[int | str, dict[str, Any]] = {403: {"description": "A viewer of the space may not change it"}}
SPACE_404: dict[int | str, dict[str, Any]] = {404: {"description": "X-Space-ID names no space of the caller's"}}


def rule_out(rule: AutoSaveRule, goal: Goal) -> dict[str, Any]:
    return RuleOut.model_validate(
        {**{c: getattr(rule, c) for c in RuleOut.model_fields if c != "currency"}, "currency": goal.currency}
    ).model_dump(mode="json")


async def rule_of(session: AsyncSession, scope: Scope, rule_id: uuid.UUID) -> tuple[AutoSaveRule, Goal]:
    row = (
        await session.execute(
            select(AutoSaveRule, Goal)
            .join(Goal, Goal.id == AutoSaveRule.goal_id)
            .where(AutoSaveRule.id == rule_id, scope.owns(Goal))
            .with_for_update(of=AutoSaveRule)
        )
    ).first()
    if row is None:
        raise NotFound("Rule not found")
    return row[0], row[1]


def next_run(rule: AutoSaveRule, day: dt.date) -> dt.date:
    """The schedule's first run on or after `day`."""
    assert rule.start_date is not None and rule.frequency is not None
    frequency = Frequency(rule.frequency)
    return occurrence(rule.start_date, frequency, index_on_or_after(rule.start_date, frequency, day))


@router.post(
    "/rules", status_code=status.HTTP_201_CREATED, response_model=Envelope[RuleOut], responses=RULE_404 | WRITE
)
async def create_rule(body: RuleCreate, scope: CurrentScope, session: Session, request: Request) -> dict[str, Any]:
    """round_up: each expense in the goal's currency; income_percent: each income; scheduled: from start_date.

    On a space's goal, the expenses and income are the space's (any member's); on a personal goal, the caller's own.
    """
    scope.require("write")
    goal = await store.goal_of(session, scope, body.goal_id)
    if body.amount is not None:
        store.check_amount(body.amount, goal.currency)
    if body.start_date is not None and body.start_date < today(request):
        raise Invalid("The first run may not be in the past", field="start_date")
    rule = AutoSaveRule(
        id=uuid.uuid4(),
        user_id=scope.user_id,
        goal_id=goal.id,
        name=body.name,
        kind=body.kind.value,
        active=body.active,
        round_up_unit=Decimal(body.round_up_unit) if body.round_up_unit else None,
        percent=body.percent,
        amount=body.amount,
        frequency=body.frequency,
        start_date=body.start_date,
        next_run_on=body.start_date,
    )
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    return ok(rule_out(rule, goal))


@router.get("/rules", response_model=PageEnvelope[RuleOut], responses=SPACE_404)
async def list_rules(page: Annotated[PageParams, Query()], scope: CurrentScope, session: Session) -> dict[str, Any]:
    total = await session.scalar(
        select(func.count())
        .select_from(AutoSaveRule)
        .join(Goal, Goal.id == AutoSaveRule.goal_id)
        .where(scope.owns(Goal))
    )
    rows = await session.execute(
        select(AutoSaveRule, Goal)
        .join(Goal, Goal.id == AutoSaveRule.goal_id)
        .where(scope.owns(Goal))
        .order_by(AutoSaveRule.created_at.desc(), AutoSaveRule.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([rule_out(rule, goal) for rule, goal in rows.all()], page, total or 0)


@router.get("/rules/{rule_id}", response_model=Envelope[RuleOut], responses=RULE_404)
async def get_rule(rule_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(rule_out(*await rule_of(session, scope, rule_id)))


@router.patch("/rules/{rule_id}", response_model=Envelope[RuleOut], responses=RULE_404 | WRITE)
async def update_rule(
    rule_id: uuid.UUID, body: RuleUpdate, scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Partial update within the rule's kind; a schedule resumed or re-timed runs next on or after today
    (runs missed while paused are not caught up)."""
    scope.require("write")
    rule, goal = await rule_of(session, scope, rule_id)
    changes = body.changes()
    fields = {
        RuleKind.ROUND_UP: {"round_up_unit"},
        RuleKind.INCOME_PERCENT: {"percent"},
        RuleKind.SCHEDULED: {"amount", "frequency"},
    }[RuleKind(rule.kind)] | {"name", "active"}
    for name in changes:
        if name not in fields:
            raise Invalid(f"{name} does not apply to a {rule.kind} rule", field=name)
    if "amount" in changes:
        store.check_amount(changes["amount"], goal.currency)
    if "round_up_unit" in changes:
        changes["round_up_unit"] = Decimal(changes["round_up_unit"])
    resumed = changes.get("active") is True and not rule.active
    for key, value in changes.items():
        setattr(rule, key, value)
    if rule.kind == RuleKind.SCHEDULED and (resumed or "frequency" in changes):
        rule.next_run_on = next_run(rule, max(today(request), rule.start_date or today(request)))
    if session.is_modified(rule):
        rule.updated_at = dt.datetime.now(dt.UTC)
        await session.flush()
    return ok(rule_out(rule, goal))


@router.delete("/rules/{rule_id}", response_model=Envelope[RuleOut], responses=RULE_404 | WRITE)
async def delete_rule(rule_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Contributions the rule made stay in the goal."""
    scope.require("write")
    rule, goal = await rule_of(session, scope, rule_id)
    shown = rule_out(rule, goal)
    await session.delete(rule)
    return ok(shown)


@router.get("/recommendations/emergency-fund", response_model=Envelope[EmergencyFundOut])
async def emergency_fund(user: CurrentUser, session: Session, request: Request) -> dict[str, Any]:
    """Min/recommended months of the average monthly spending of the last whole months, per currency.

    Months before the user's first known expense are not counted (a new user is not averaged down);
    spending is kept per currency, not converted.
    """
    settings: Settings = request.app.state.settings
    start, end = domain.months_window(today(request), settings.emergency_lookback_months)
    spent, first = await store.emergency_spending(session, user, start, end)
    months = domain.months_between(max(start, first), end) if first and first <= end else 0
    saved = await store.emergency_savings(session, user)
    funds = [
        domain.emergency_fund(
            currency,
            spent.get(currency, Decimal(0)),
            months,
            saved.get(currency, Decimal(0)),
            settings.emergency_min_months,
            settings.emergency_max_months,
        )
        for currency in sorted(set(spent) | set(saved))
    ]
    return ok(
        EmergencyFundOut(
            period_start=max(start, first.replace(day=1)) if months and first else None,
            period_end=end if months else None,
            months_analyzed=months,
            minimum_months=settings.emergency_min_months,
            recommended_months=settings.emergency_max_months,
            by_currency=[FundOut.model_validate(f, from_attributes=True) for f in funds],
        ).model_dump(mode="json")
    )
