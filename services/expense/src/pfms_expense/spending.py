"""Budget spending from expenses, and the threshold alerts, evaluated inside the caller's transaction.

Any write that changes spending calls `evaluate` with the (date, category, currency) it touched,
before its transaction commits. The budgets concerned are locked first, so two writers racing on
one budget are serialised and the second one sums what the first committed: a crossing is never
missed, and the `(budget_id, period_start, threshold)` key makes each alert go out exactly once.

A budget of a shared space sums the expenses of that space, whoever recorded them, and its alert goes
to every member of the space (one event each, from this service's membership read model).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import BudgetThresholdReached
from pfms_expense import budgets, categories, fx, store
from pfms_expense.budgets import BudgetPeriod, Period, Status
from pfms_expense.models import Budget, BudgetCrossing, Expense, FxRate
from pfms_finance.currency import quantize
from pfms_platform.events.outbox import emit
from pfms_platform.spaces import SpaceMembership

Touch = tuple[date, uuid.UUID | None, str]
"""An expense's date, category and currency, before or after a change."""


def scope(budget: Budget, parent_of: dict[uuid.UUID, uuid.UUID | None]) -> set[uuid.UUID] | None:
    """The categories a budget counts (its category and everything below), None for an overall budget."""
    return None if budget.category_id is None else categories.descendants(parent_of, budget.category_id)


@dataclass(frozen=True)
class Spent:
    total: Decimal
    """Every expense in the budget's currency, or converted into it at its date's rate."""
    unconverted: dict[str, Decimal]
    """Per currency, expenses with no rate into the budget's currency yet: not counted until they have one."""


async def spent(
    session: AsyncSession,
    user_id: uuid.UUID,
    currency: str,
    within: set[uuid.UUID] | None,
    period: Period,
    space_id: uuid.UUID | None = None,
) -> Spent:
    """Expenses of every currency, each converted on its own (fx.convert) with the cached rate of its date;
    the user's personal ones, or those of the space."""
    rate = FxRate.__table__.alias("rate")
    value = case(
        (Expense.currency == currency, Expense.amount), else_=fx.converted_sql(Expense.amount, rate.c.rate, currency)
    )
    countable = (Expense.currency == currency) | rate.c.rate.is_not(None)
    query = (
        select(countable, Expense.currency, func.sum(value), func.sum(Expense.amount))
        .outerjoin(
            rate, and_(rate.c.base == Expense.currency, rate.c.quote == currency, rate.c.day == Expense.expense_date)
        )
        .where(store.of(user_id, space_id).owns(Expense), Expense.expense_date.between(period.start, period.end))
        .group_by(countable, Expense.currency)
    )
    if within is not None:
        query = query.where(Expense.category_id.in_(within))
    total, unconverted = Decimal(0), {}  # each converted row is at the currency's minor unit already
    for countable, code, converted, original in await session.execute(query):
        if countable:
            total += converted
        else:
            unconverted[code] = quantize(original, code)
    return Spent(quantize(total, currency), unconverted)


@dataclass(frozen=True)
class PeriodStatus:
    period: Period
    status: Status
    reached: list[int]
    unconverted: dict[str, Decimal]


SpentKey = tuple[str, frozenset[uuid.UUID] | None, Period]
"""A budget's currency, the categories it counts (None: all) and a period: what `spent` sums over."""


async def period_status(
    session: AsyncSession,
    budget: Budget,
    period: Period,
    parent_of: dict[uuid.UUID, uuid.UUID | None],
    sums: dict[SpentKey, Spent] | None = None,
) -> PeriodStatus:
    """`sums`: the sums of the evaluation so far, shared by budgets alike (same currency and scope)
    instead of each summing the same rows again (one evaluation reads one state of the expenses)."""
    within = scope(budget, parent_of)
    sums = {} if sums is None else sums

    async def used_in(p: Period) -> Spent:
        key = (budget.currency, None if within is None else frozenset(within), p)
        if key not in sums:
            sums[key] = await spent(session, budget.user_id, budget.currency, within, p, budget.space_id)
        return sums[key]

    carried = Decimal(0)
    kind = BudgetPeriod(budget.period)
    if budget.rollover and (previous := budgets.previous_period(kind, budget.start_date, period)) is not None:
        carried = budgets.rollover(budget.amount, (await used_in(previous)).total)
    used = await used_in(period)
    state = budgets.status(budget.amount, used.total, budget.currency, carried)
    reached = budgets.reached(budget.alert_thresholds, state.spent, state.available)
    return PeriodStatus(period, state, reached, used.unconverted)


async def evaluate(
    session: AsyncSession, user_id: uuid.UUID, touched: Iterable[Touch], space_id: uuid.UUID | None = None
) -> int:
    """Publish `budget.threshold_reached` for every threshold newly reached in the budgets of the user's
    personal space (or of `space_id`, for a change of that space's expenses); returns how many.

    Its cost follows the number of distinct sums, not of budgets: budgets alike share one sum, and the
    crossings already recorded are read in one query instead of re-inserted one by one."""
    touched = set(touched)
    if not touched:
        return 0
    rows = await session.scalars(
        select(Budget)
        .where(store.of(user_id, space_id).owns(Budget), Budget.is_active)
        .order_by(Budget.id)
        .with_for_update()
    )
    active = list(rows.all())
    if not active:
        return 0
    parent_of = await store.budget_parents(session, user_id, space_id, active)
    due: list[tuple[Budget, Period]] = []
    for budget in active:
        within = scope(budget, parent_of)
        kind = BudgetPeriod(budget.period)
        periods = {
            budgets.period_containing(kind, budget.start_date, budget.end_date, day)
            for day, category, _ in touched
            if within is None or category in within
        }
        due += [(budget, p) for p in sorted((p for p in periods if p is not None), key=lambda p: p.start)]
    if not due:
        return 0
    recorded = await _recorded(session, due)
    recipients = await _recipients(session, user_id, space_id)
    sums: dict[SpentKey, Spent] = {}
    sent = 0
    for budget, period in due:
        current = await period_status(session, budget, period, parent_of, sums)
        sent += await _announce(session, budget, current, recorded, recipients)
    return sent


async def evaluate_budget(session: AsyncSession, budget: Budget, day: date) -> PeriodStatus | None:
    """A new or changed active budget may already be past a threshold on `day`: record and announce it now,
    not at the next expense; returns the budget's status in the period containing `day` (None: no period).

    Only this budget is evaluated, since no other budget's spending changed (evaluating them all made
    budget creation the slowest request of the fleet mix), but the scope's active budgets are locked
    first as in `evaluate`, so an expense write evaluating them at the same time is serialised with it."""
    await session.execute(
        select(Budget.id)
        .where(store.of(budget.user_id, budget.space_id).owns(Budget), Budget.is_active)
        .order_by(Budget.id)
        .with_for_update()
    )
    period = budgets.period_containing(BudgetPeriod(budget.period), budget.start_date, budget.end_date, day)
    if period is None:
        return None
    parent_of = (
        {}  # an overall budget counts every category: no tree to read
        if budget.category_id is None
        else await store.budget_parents(session, budget.user_id, budget.space_id, [budget])
    )
    current = await period_status(session, budget, period, parent_of)
    if current.reached:
        recorded = await _recorded(session, [(budget, period)])
        recipients = await _recipients(session, budget.user_id, budget.space_id)
        await _announce(session, budget, current, recorded, recipients)
    return current


async def _recipients(session: AsyncSession, user_id: uuid.UUID, space_id: uuid.UUID | None) -> list[uuid.UUID]:
    """Who is alerted: the user, or every member of the space."""
    if space_id is None:
        return [user_id]
    members = select(SpaceMembership.user_id).where(SpaceMembership.space_id == space_id)
    return list(await session.scalars(members.order_by(SpaceMembership.user_id)))


async def _recorded(session: AsyncSession, due: list[tuple[Budget, Period]]) -> set[tuple[uuid.UUID, date, int]]:
    """The (budget, period start, threshold) crossings already recorded for the budgets and periods due
    (read after the budgets are locked, so a concurrent evaluation's crossings are committed and seen)."""
    found = await session.execute(
        select(BudgetCrossing.budget_id, BudgetCrossing.period_start, BudgetCrossing.threshold).where(
            BudgetCrossing.budget_id.in_({b.id for b, _ in due}),
            BudgetCrossing.period_start.in_({p.start for _, p in due}),
        )
    )
    return {(b, start, threshold) for b, start, threshold in found}


async def _announce(
    session: AsyncSession,
    budget: Budget,
    current: PeriodStatus,
    recorded: set[tuple[uuid.UUID, date, int]],
    recipients: list[uuid.UUID],
) -> int:
    """Each newly crossed threshold recorded once and announced to each recipient (the budget's owner,
    or every member of its space: the notification service then alerts each of them)."""
    sent = 0
    for threshold in current.reached:
        if (budget.id, current.period.start, threshold) in recorded:
            continue
        first_time = await session.scalar(
            insert(BudgetCrossing)
            .values(
                budget_id=budget.id,
                period_start=current.period.start,
                threshold=threshold,
                user_id=budget.user_id,
                spent=current.status.spent,
            )
            .on_conflict_do_nothing()
            .returning(BudgetCrossing.threshold)
        )
        if first_time is None:
            continue
        for recipient in recipients:
            await emit(
                session,
                BudgetThresholdReached(
                    user_id=recipient,
                    space_id=budget.space_id,
                    budget_id=budget.id,
                    budget_name=budget.name,
                    threshold_percent=threshold,
                    period_start=current.period.start,
                    period_end=current.period.end,
                    budget_amount=current.status.available,
                    spent=current.status.spent,
                    percent_used=current.status.percent_used,
                    currency=budget.currency,
                    category_id=budget.category_id,
                ),
            )
        sent += 1
    return sent
