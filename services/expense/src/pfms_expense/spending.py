"""Budget spending from expenses, and the threshold alerts, evaluated inside the caller's transaction.

Any write that changes spending calls `evaluate` with the (date, category, currency) it touched,
before its transaction commits. The budgets concerned are locked first, so two writers racing on
one budget are serialised and the second one sums what the first committed: a crossing is never
missed, and the `(budget_id, period_start, threshold)` key makes each alert go out exactly once.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import BudgetThresholdReached
from pfms_expense import budgets, categories, store
from pfms_expense.budgets import BudgetPeriod, Period, Status
from pfms_expense.models import Budget, BudgetCrossing, Expense
from pfms_platform.events.outbox import emit

Touch = tuple[date, uuid.UUID | None, str]
"""An expense's date, category and currency, before or after a change."""


def scope(budget: Budget, parent_of: dict[uuid.UUID, uuid.UUID | None]) -> set[uuid.UUID] | None:
    """The categories a budget counts (its category and everything below), None for an overall budget."""
    return None if budget.category_id is None else categories.descendants(parent_of, budget.category_id)


async def spent(
    session: AsyncSession, user_id: uuid.UUID, currency: str, within: set[uuid.UUID] | None, period: Period
) -> Decimal:
    query = select(func.coalesce(func.sum(Expense.amount), 0)).where(
        Expense.user_id == user_id,
        Expense.currency == currency,
        Expense.expense_date.between(period.start, period.end),
    )
    if within is not None:
        query = query.where(Expense.category_id.in_(within))
    return Decimal(await session.scalar(query) or 0)


@dataclass(frozen=True)
class PeriodStatus:
    period: Period
    status: Status
    reached: list[int]


async def period_status(
    session: AsyncSession, budget: Budget, period: Period, parent_of: dict[uuid.UUID, uuid.UUID | None]
) -> PeriodStatus:
    within = scope(budget, parent_of)
    carried = Decimal(0)
    kind = BudgetPeriod(budget.period)
    if budget.rollover and (previous := budgets.previous_period(kind, budget.start_date, period)) is not None:
        carried = budgets.rollover(
            budget.amount, await spent(session, budget.user_id, budget.currency, within, previous)
        )
    used = await spent(session, budget.user_id, budget.currency, within, period)
    state = budgets.status(budget.amount, used, budget.currency, carried)
    return PeriodStatus(period, state, budgets.reached(budget.alert_thresholds, state.spent, state.available))


async def evaluate(session: AsyncSession, user_id: uuid.UUID, touched: Iterable[Touch]) -> int:
    """Publish `budget.threshold_reached` for every threshold newly reached; returns how many."""
    touched = set(touched)
    currencies = {currency for _, _, currency in touched}
    if not currencies:
        return 0
    rows = await session.scalars(
        select(Budget)
        .where(Budget.user_id == user_id, Budget.is_active, Budget.currency.in_(currencies))
        .order_by(Budget.id)
        .with_for_update()
    )
    active = list(rows.all())
    if not active:
        return 0
    parent_of = await store.parents(session, user_id)
    sent = 0
    for budget in active:
        within = scope(budget, parent_of)
        kind = BudgetPeriod(budget.period)
        periods = {
            budgets.period_containing(kind, budget.start_date, budget.end_date, day)
            for day, category, currency in touched
            if currency == budget.currency and (within is None or category in within)
        }
        for period in sorted((p for p in periods if p is not None), key=lambda p: p.start):
            current = await period_status(session, budget, period, parent_of)
            sent += await _announce(session, budget, current)
    return sent


async def _announce(session: AsyncSession, budget: Budget, current: PeriodStatus) -> int:
    sent = 0
    for threshold in current.reached:
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
        await emit(
            session,
            BudgetThresholdReached(
                user_id=budget.user_id,
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
