"""Queries shared by the routes and the event handlers; every one is scoped to one user's rows or one space's."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, cast, delete, func, null, select, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_finance.recurrence import Frequency
from pfms_income.domain import OutflowKind, Projection, Schedule, SourceFrequency
from pfms_income.models import (
    CashflowProjection,
    ExpenseFact,
    IncomeSource,
    IncomeTransaction,
    ProjectionInputs,
    ScheduledOutflow,
)
from pfms_income.schemas import SourceFilters, SummaryParams, TransactionFilters
from pfms_platform.errors import NotFound
from pfms_platform.spaces import Scope

Owned = TypeVar("Owned", IncomeSource, IncomeTransaction)

NOT_FOUND = {IncomeSource: "Income source not found", IncomeTransaction: "Income transaction not found"}


async def owned(
    session: AsyncSession,
    model: type[Owned],
    object_id: uuid.UUID,
    scope: Scope,
    *,
    lock: bool = True,
    field: str | None = None,
) -> Owned:
    """The scope's row (locked for the unit of work unless `lock=False`); any other user's or space's is a 404."""
    query = select(model).where(model.id == object_id, scope.owns(model))
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(NOT_FOUND[model], field=field)
    return row


# --- projection inputs ---------------------------------------------------------------------------


def _bump(user_id: uuid.UUID, currency: str | None = None) -> Insert:
    changes: dict[str, Any] = {"version": ProjectionInputs.version + 1, "updated_at": func.now()}
    if currency is not None:
        changes["currency"] = currency
    return (
        insert(ProjectionInputs)
        .values(user_id=user_id, version=1, currency=currency, updated_at=func.now())
        .on_conflict_do_update(index_elements=[ProjectionInputs.user_id], set_=changes)
    )


async def bump(session: AsyncSession, user_id: uuid.UUID, *, currency: str | None = None) -> None:
    """Mark the user's projection inputs changed, in the caller's transaction (cache keys carry the version)."""
    await session.execute(_bump(user_id, currency))


async def _change_and_bump(session: AsyncSession, user_id: uuid.UUID, change: Insert) -> None:
    """`change` and the bump in one statement, the change as a CTE (PostgreSQL runs a data-modifying CTE in
    full even unread): one round trip per event instead of two."""
    await session.execute(_bump(user_id).add_cte(change.cte("change")))


async def inputs_state(session: AsyncSession, user_id: uuid.UUID) -> tuple[int, str | None]:
    """(version, profile currency) of the user's projection inputs; (0, None) before any input."""
    row = (
        await session.execute(
            select(ProjectionInputs.version, ProjectionInputs.currency).where(ProjectionInputs.user_id == user_id)
        )
    ).first()
    return (int(row.version), row.currency) if row else (0, None)


async def burn_totals(session: AsyncSession, user_id: uuid.UUID, first: date, last: date) -> dict[str, Decimal]:
    """Per currency, the expenses of [first, last] that no schedule booked (those are projected as outflows)."""
    rows = await session.execute(
        select(ExpenseFact.currency, func.sum(ExpenseFact.amount))
        .where(
            ExpenseFact.user_id == user_id,
            ExpenseFact.expense_date.between(first, last),
            ~ExpenseFact.deleted,
            ExpenseFact.recurring_expense_id.is_(None),
        )
        .group_by(ExpenseFact.currency)
    )
    return {currency: total for currency, total in rows}


async def income_schedules(session: AsyncSession, user_id: uuid.UUID) -> list[Schedule]:
    """Active sources with a schedule, each with the date of the latest income recorded against it."""
    latest = (
        select(IncomeTransaction.income_source_id, func.max(IncomeTransaction.date).label("last_received"))
        .where(IncomeTransaction.user_id == user_id, IncomeTransaction.income_source_id.is_not(None))
        .group_by(IncomeTransaction.income_source_id)
        .subquery()
    )
    rows = await session.execute(
        select(IncomeSource, latest.c.last_received)
        .outerjoin(latest, latest.c.income_source_id == IncomeSource.id)
        .where(
            IncomeSource.user_id == user_id,
            IncomeSource.space_id.is_(None),  # the projection is personal: a space's sources are not the user's
            IncomeSource.is_active,
            IncomeSource.frequency.is_not(None),
        )
    )
    schedules = []
    for source, last_received in rows:
        assert source.amount is not None and source.start_date is not None and source.frequency is not None
        schedules.append(
            Schedule(
                amount=source.amount,
                currency=source.currency,
                start=source.start_date,
                frequency=SourceFrequency(source.frequency).recurrence,
                end=source.end_date,
                label=source.name,
                last_received=last_received,
            )
        )
    return schedules + await flow_schedules(session, user_id, inflows=True)


async def outflow_schedules(session: AsyncSession, user_id: uuid.UUID) -> list[Schedule]:
    return await flow_schedules(session, user_id, inflows=False)


async def flow_schedules(session: AsyncSession, user_id: uuid.UUID, *, inflows: bool) -> list[Schedule]:
    """Confirmed flows learned from events: what a user lent comes back as income, the rest goes out."""
    repayment = ScheduledOutflow.kind == OutflowKind.LOAN_REPAYMENT.value
    rows = await session.scalars(
        select(ScheduledOutflow).where(
            ScheduledOutflow.user_id == user_id,
            ScheduledOutflow.active,
            ~ScheduledOutflow.deleted,
            repayment if inflows else ~repayment,
        )
    )
    return [
        Schedule(
            amount=row.amount,
            currency=row.currency,
            start=row.start_date if row.frequency else row.next_due_date,
            frequency=Frequency(row.frequency) if row.frequency else None,
            end=row.end_date,
            not_before=row.next_due_date,
            inflation_rate=row.inflation_rate,
            label=row.description,
        )
        for row in rows
    ]


_SAVE_PROJECTION = text(
    """
    WITH stale AS (
        DELETE FROM cashflow_projections
        WHERE user_id = :user_id AND projection_date NOT BETWEEN :first AND :last
    )
    INSERT INTO cashflow_projections AS p (
        id, user_id, projection_date, currency, projected_balance, confidence_score,
        expected_income, expected_expenses, notes, calculated_at
    )
    SELECT gen_random_uuid(), :user_id, d.day, :currency, d.balance, d.confidence,
           d.income, d.expenses, d.notes, :calculated_at
    FROM unnest(
        CAST(:days AS date[]), CAST(:balances AS numeric[]), CAST(:confidences AS numeric[]),
        CAST(:incomes AS numeric[]), CAST(:expenses AS numeric[]), CAST(:notes AS text[])
    ) AS d(day, balance, confidence, income, expenses, notes)
    ON CONFLICT (user_id, projection_date) DO UPDATE SET
        currency = excluded.currency, projected_balance = excluded.projected_balance,
        confidence_score = excluded.confidence_score, expected_income = excluded.expected_income,
        expected_expenses = excluded.expected_expenses, notes = excluded.notes,
        calculated_at = excluded.calculated_at
    WHERE p.calculated_at <= excluded.calculated_at
    """
)


async def save_projection(
    session: AsyncSession, user_id: uuid.UUID, projection: Projection, calculated_at: datetime
) -> None:
    """Make this the user's stored projection (the table keeps the latest only).

    One statement with the days as arrays: a year is 365 rows, and row-by-row parameters cost more
    than the projection itself. Days outside the new horizon go; days inside are overwritten unless
    they hold a projection computed later than this one.
    """
    days = projection.days
    await session.execute(
        _SAVE_PROJECTION,
        {
            "user_id": user_id,
            "first": days[0].date,
            "last": days[-1].date,
            "currency": projection.currency,
            "calculated_at": calculated_at,
            "days": [d.date for d in days],
            "balances": [d.projected_balance for d in days],
            "confidences": [d.confidence for d in days],
            "incomes": [d.expected_income for d in days],
            "expenses": [d.expected_expenses for d in days],
            "notes": ["; ".join(d.notes) or None for d in days],
        },
    )


# --- what other services tell us -------------------------------------------------------------------


async def record_expense(session: AsyncSession, user_id: uuid.UUID, expense_id: uuid.UUID, **facts: Any) -> None:
    """Upsert an expense's latest state, unless it was already deleted (a late update never resurrects it)."""
    await _change_and_bump(
        session,
        user_id,
        insert(ExpenseFact)
        .values(expense_id=expense_id, user_id=user_id, **facts)
        .on_conflict_do_update(
            index_elements=[ExpenseFact.expense_id],
            set_={**facts, "updated_at": func.now()},
            where=~ExpenseFact.deleted,
        ),
    )


async def forget_expense(session: AsyncSession, user_id: uuid.UUID, expense_id: uuid.UUID, **facts: Any) -> None:
    """Leave a tombstone, so an update that arrives after the deletion is ignored."""
    await _change_and_bump(
        session,
        user_id,
        insert(ExpenseFact)
        .values(expense_id=expense_id, user_id=user_id, deleted=True, **facts)
        .on_conflict_do_update(
            index_elements=[ExpenseFact.expense_id], set_={"deleted": True, "updated_at": func.now()}
        ),
    )


async def record_outflow(
    session: AsyncSession, user_id: uuid.UUID, kind: OutflowKind, external_id: uuid.UUID, **schedule: Any
) -> None:
    """Upsert a confirmed outflow by its producer's id; a deleted one stays deleted."""
    await session.execute(
        insert(ScheduledOutflow)
        .values(id=uuid.uuid4(), user_id=user_id, kind=kind.value, external_id=external_id, **schedule)
        .on_conflict_do_update(
            index_elements=[ScheduledOutflow.kind, ScheduledOutflow.external_id],
            set_={**schedule, "updated_at": func.now()},
            where=~ScheduledOutflow.deleted,
        )
    )
    await bump(session, user_id)


async def apply_loan_payment(
    session: AsyncSession, user_id: uuid.UUID, loan_id: uuid.UUID, amount: Decimal, *, paid_off: bool
) -> None:
    """A payment settles the loan's instalments oldest first, as the loan service allocates it; a loan
    paid off (or closed) leaves nothing to project."""
    rows = (
        await session.scalars(
            select(ScheduledOutflow)
            .where(
                ScheduledOutflow.user_id == user_id,
                ScheduledOutflow.loan_id == loan_id,
                ScheduledOutflow.active,
                ~ScheduledOutflow.deleted,
            )
            .order_by(ScheduledOutflow.next_due_date, ScheduledOutflow.id)
            .with_for_update()
        )
    ).all()
    left = amount
    for row in rows:
        if paid_off or left >= row.amount:
            left -= min(left, row.amount)
            row.active = False
        elif left > 0:
            row.amount, left = row.amount - left, Decimal(0)
    await bump(session, user_id)


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every row about the user, in every table; what they recorded in a shared space stays the space's."""
    for owned_model in (IncomeTransaction, IncomeSource):
        await session.execute(delete(owned_model).where(owned_model.user_id == user_id, owned_model.space_id.is_(None)))
    for model in (ExpenseFact, ScheduledOutflow, CashflowProjection, ProjectionInputs):
        await session.execute(delete(model).where(model.user_id == user_id))


async def purge_space(session: AsyncSession, space_id: uuid.UUID) -> None:
    """A deleted space's income: its transactions and sources, whoever recorded them."""
    for model in (IncomeTransaction, IncomeSource):
        await session.execute(delete(model).where(model.space_id == space_id))


# --- lists and summaries ---------------------------------------------------------------------------


async def page(session: AsyncSession, query: Select[Any], offset: int, limit: int) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.offset(offset).limit(limit))).all()
    return list(rows), int(total or 0)


def source_query(scope: Scope, f: SourceFilters) -> Select[Any]:
    query = select(IncomeSource).where(scope.owns(IncomeSource))
    if f.type is not None:
        query = query.where(IncomeSource.type == f.type.value)
    if f.currency is not None:
        query = query.where(IncomeSource.currency == f.currency)
    if f.active is not None:
        query = query.where(IncomeSource.is_active.is_(f.active))
    if f.recurring is not None:
        recurring = IncomeSource.frequency.is_not(None) & (IncomeSource.frequency != SourceFrequency.ONE_TIME.value)
        query = query.where(recurring if f.recurring else ~recurring)
    return query.order_by(IncomeSource.created_at.desc(), IncomeSource.id)


def _transaction_conditions(scope: Scope, f: TransactionFilters | SummaryParams) -> list[ColumnElement[bool]]:
    conditions = [scope.owns(IncomeTransaction)]
    if f.date_from is not None:
        conditions.append(IncomeTransaction.date >= f.date_from)
    if f.date_to is not None:
        conditions.append(IncomeTransaction.date <= f.date_to)
    if f.currency is not None:
        conditions.append(IncomeTransaction.currency == f.currency)
    return conditions


async def summary(session: AsyncSession, scope: Scope, p: SummaryParams) -> tuple[list[Any], list[Any]]:
    """(totals per currency, rows per group and currency), each with count, gross, tax and net."""
    t = IncomeTransaction
    sums = (
        func.count().label("count"),
        func.sum(t.amount).label("amount"),
        func.sum(t.tax_deducted).label("tax_deducted"),
        func.sum(t.net_amount).label("net_amount"),
    )
    where = _transaction_conditions(scope, p)
    totals = await session.execute(select(t.currency, *sums).where(*where).group_by(t.currency).order_by(t.currency))
    label: Any = null()
    if p.group_by == "month":
        key: Any = func.to_char(t.date, "YYYY-MM")
    elif p.group_by == "source":
        key, label = cast(t.income_source_id, String), IncomeSource.name
    else:
        key = getattr(t, p.group_by)
    query = (
        select(key.label("key"), label.label("label"), t.currency, *sums)
        .outerjoin(IncomeSource, IncomeSource.id == t.income_source_id)
        .where(*where)
        .group_by(key, t.currency, *([label] if p.group_by == "source" else []))
        .order_by(key.asc().nulls_last(), t.currency)
    )
    groups = await session.execute(query)
    return list(totals.mappings()), list(groups.mappings())
