"""Reads and writes of goals and their entries, shared by the routes, the event handlers and the job.

`record` is the one way money moves into or out of a goal: it locks the goal row, inserts the
entry (once per rule and source, or per request id), moves the running total and announces every
threshold crossed for the first time (`goal_milestones` keeps each one, so it leaves once even if
the total dips and crosses again).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.savings import GoalAchieved, GoalMilestoneReached
from pfms_finance.currency import minor_units, quantize
from pfms_platform.errors import Conflict, Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.spaces import Scope
from pfms_savings import domain
from pfms_savings.domain import ACHIEVED, EntryKind, EntrySource, GoalStatus
from pfms_savings.models import AutoSaveRule, Contribution, Goal, GoalMilestone, SpendingFact


async def goal_of(session: AsyncSession, scope: Scope, goal_id: uuid.UUID, *, lock: bool = False) -> Goal:
    """The scope's goal; another user's or another space's goal is not found (404), never shown."""
    query = select(Goal).where(Goal.id == goal_id, scope.owns(Goal))
    goal = await session.scalar(query.with_for_update() if lock else query)
    if goal is None:
        raise NotFound("Goal not found")
    return goal


def check_amount(amount: Decimal, currency: str, field: str = "amount") -> None:
    """An amount has no more decimals than its currency's minor unit."""
    if amount != amount.quantize(Decimal(1).scaleb(-minor_units(currency))):
        raise Invalid(f"{currency} amounts have at most {minor_units(currency)} decimal places", field=field)


@dataclass(frozen=True)
class Entry:
    """What to record: `source_ref` (with `rule_id` or alone) makes an automatic entry happen once.

    `by`: whose move it is (a space goal takes any member's), the goal's creator when not given.
    """

    kind: EntryKind
    amount: Decimal
    day: date
    source: EntrySource = EntrySource.MANUAL
    rule_id: uuid.UUID | None = None
    source_ref: str | None = None
    note: str | None = None
    by: uuid.UUID | None = None


async def record(session: AsyncSession, goal: Goal, entry: Entry) -> Contribution | None:
    """Record the entry on the (locked) goal; None if this rule/request already recorded it.

    A withdrawal that would take the saved amount below zero is refused (422 on `amount`).
    """
    if entry.kind is EntryKind.WITHDRAWAL and entry.amount > goal.saved_amount:
        raise Invalid(
            f"Withdrawal exceeds the saved amount ({quantize(goal.saved_amount, goal.currency)} {goal.currency})",
            field="amount",
            code="INSUFFICIENT_SAVINGS",
        )
    entry_id = await session.scalar(
        insert(Contribution)
        .values(
            id=uuid.uuid4(),
            goal_id=goal.id,
            user_id=entry.by or goal.user_id,
            kind=entry.kind.value,
            amount=entry.amount,
            contributed_on=entry.day,
            source=entry.source.value,
            rule_id=entry.rule_id,
            source_ref=entry.source_ref,
            note=entry.note,
        )
        .on_conflict_do_nothing()
        .returning(Contribution.id)
    )
    if entry_id is None:
        return None
    sign = 1 if entry.kind is EntryKind.CONTRIBUTION else -1
    goal.saved_amount += sign * entry.amount
    goal.updated_at = datetime.now(UTC)
    await announce_thresholds(session, goal, entry.day)
    return await session.get(Contribution, entry_id)


async def announce_thresholds(session: AsyncSession, goal: Goal, day: date) -> list[int]:
    """Keep and announce the thresholds the goal reaches for the first time (after a move or a new target)."""
    reached = domain.thresholds_reached(goal.saved_amount, goal.target_amount)
    if not reached:
        return []
    new = list(
        (
            await session.scalars(
                insert(GoalMilestone)
                .values([{"goal_id": goal.id, "percent": p, "user_id": goal.user_id} for p in reached])
                .on_conflict_do_nothing()
                .returning(GoalMilestone.percent)
            )
        ).all()
    )
    facts = {
        "user_id": goal.user_id,
        "goal_id": goal.id,
        "goal_name": goal.name,
        "target_amount": quantize(goal.target_amount, goal.currency),
        "saved_amount": quantize(goal.saved_amount, goal.currency),
        "currency": goal.currency,
        "space_id": goal.space_id,
    }
    for percent in sorted(new):
        if percent == ACHIEVED:
            goal.achieved_at = goal.achieved_at or datetime.now(UTC)
            await emit(session, GoalAchieved(**facts, achieved_on=day))
        else:
            await emit(session, GoalMilestoneReached(**facts, milestone_percent=percent))
    return sorted(new)


async def milestones_of(session: AsyncSession, goal_id: uuid.UUID) -> list[int]:
    rows = await session.scalars(
        select(GoalMilestone.percent).where(GoalMilestone.goal_id == goal_id).order_by(GoalMilestone.percent)
    )
    return list(rows.all())


async def history(session: AsyncSession, goal: Goal) -> tuple[domain.History, int]:
    """First entry day and net saved (from the running total), plus the number of entries (by anyone)."""
    first, count = (
        await session.execute(
            select(func.min(Contribution.contributed_on), func.count()).where(Contribution.goal_id == goal.id)
        )
    ).one()
    return domain.History(first_day=first, net_saved=goal.saved_amount), int(count)


async def active_rules(
    session: AsyncSession,
    user_id: uuid.UUID,
    space_id: uuid.UUID | None,
    kind: domain.RuleKind,
    currency: str,
    along: Insert | None = None,
) -> list[tuple[AutoSaveRule, Goal]]:
    """Active rules of `kind` whose goal is active and in `currency`, their goals locked (in id order).

    A rule follows its goal's scope: money of the user's personal space moves only their personal rules,
    money of a shared space (`space_id`, whichever member's) moves the rules on that space's goals.
    `along`: a write that goes in the same statement (a CTE, which PostgreSQL runs in full though unread;
    the rules read nothing it writes): one round trip instead of two.
    """
    scope = (
        (AutoSaveRule.user_id == user_id, Goal.space_id.is_(None)) if space_id is None else (Goal.space_id == space_id,)
    )
    query = select(AutoSaveRule, Goal) if along is None else select(AutoSaveRule, Goal).add_cte(along.cte("along"))
    rows = await session.execute(
        query.join(Goal, Goal.id == AutoSaveRule.goal_id)
        .where(
            *scope,
            AutoSaveRule.kind == kind.value,
            AutoSaveRule.active,
            Goal.status == GoalStatus.ACTIVE.value,
            Goal.currency == currency,
        )
        .order_by(Goal.id, AutoSaveRule.id)
        .with_for_update(of=Goal)
    )
    return [(rule, goal) for rule, goal in rows.all()]


def refuse_archived(goal: Goal) -> None:
    if goal.status == GoalStatus.ARCHIVED:
        raise Conflict("The goal is archived; unarchive it to move money", code="GOAL_ARCHIVED")


async def emergency_spending(
    session: AsyncSession, user_id: uuid.UUID, start: date, end: date
) -> tuple[dict[str, Decimal], date | None]:
    """Spending per currency in [start, end] and the day of the user's first known expense."""
    live = (SpendingFact.user_id == user_id, SpendingFact.deleted.is_(False))
    rows = await session.execute(
        select(SpendingFact.currency, func.sum(SpendingFact.amount))
        .where(*live, SpendingFact.expense_date.between(start, end))
        .group_by(SpendingFact.currency)
    )
    first = await session.scalar(select(func.min(SpendingFact.expense_date)).where(*live))
    return {currency: total for currency, total in rows.all()}, first


async def emergency_savings(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Decimal]:
    rows = await session.execute(
        select(Goal.currency, func.sum(Goal.saved_amount))
        .where(
            Goal.user_id == user_id,
            Goal.space_id.is_(None),
            Goal.category == domain.GoalCategory.EMERGENCY_FUND.value,
            Goal.status != GoalStatus.ARCHIVED.value,
        )
        .group_by(Goal.currency)
    )
    return {currency: total for currency, total in rows.all()}


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every row of the user, children first; what they did in a shared space stays the space's (its totals),
    but for the rules they made on a space's goals: a schedule would go on saving in the name of someone who
    no longer exists (the entries those rules made stay)."""
    personal = select(Goal.id).where(Goal.user_id == user_id, Goal.space_id.is_(None))
    await _delete_goals(session, personal)
    await session.execute(delete(AutoSaveRule).where(AutoSaveRule.user_id == user_id))
    await session.execute(delete(SpendingFact).where(SpendingFact.user_id == user_id))


async def purge_space(session: AsyncSession, space_id: uuid.UUID) -> None:
    """A deleted space's goals with every member's entries, milestones and rules."""
    await _delete_goals(session, select(Goal.id).where(Goal.space_id == space_id))


async def _delete_goals(session: AsyncSession, goals: Select[tuple[uuid.UUID]]) -> None:
    for model in (Contribution, GoalMilestone, AutoSaveRule):
        await session.execute(delete(model).where(model.goal_id.in_(goals)))
    await session.execute(delete(Goal).where(Goal.id.in_(goals)))
