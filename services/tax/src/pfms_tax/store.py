"""Reads and writes of the tax service's own tables. Every query is filtered by the owner's user_id.

Every change to a calculation input (profile, deduction, income, realized gain) calls `bump()` in
the same transaction, which retires the user's cached calculations (see models.TaxInputs).
"""

import uuid
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import case, delete, func, null, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.db import Base
from pfms_platform.errors import NotFound
from pfms_tax.models import (
    DeductibleCategory,
    DeductionSuggestion,
    IncomeFact,
    RealizedGainFact,
    SaleRevision,
    SuggestionStatus,
    TaxCalculation,
    TaxDeduction,
    TaxInputs,
    TaxProfile,
)

M = TypeVar("M", bound=Base)

USER_TABLES = (
    TaxProfile,
    TaxDeduction,
    DeductibleCategory,
    DeductionSuggestion,
    IncomeFact,
    RealizedGainFact,
    SaleRevision,
    TaxCalculation,
    TaxInputs,
)


def _bump(user_id: uuid.UUID) -> Insert:
    statement = insert(TaxInputs).values(user_id=user_id, version=1)
    return statement.on_conflict_do_update(index_elements=["user_id"], set_={"version": TaxInputs.version + 1})


async def bump(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(_bump(user_id))


async def _change_and_bump(session: AsyncSession, user_id: uuid.UUID, change: Insert) -> None:
    """`change` and the bump in one statement, the change as a CTE (PostgreSQL runs a data-modifying CTE in
    full even unread): one round trip per event instead of two."""
    await session.execute(_bump(user_id).add_cte(change.cte("change")))


async def inputs_version(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(await session.scalar(select(TaxInputs.version).where(TaxInputs.user_id == user_id)) or 0)


async def owned(session: AsyncSession, model: type[M], user_id: uuid.UUID, row_id: uuid.UUID, what: str) -> M:
    """The caller's row, or 404 — another user's row is indistinguishable from a missing one."""
    row = await session.scalar(select(model).where(model.id == row_id, model.user_id == user_id))
    if row is None:
        raise NotFound(f"{what} not found")
    return row


# profiles


async def profile(session: AsyncSession, user_id: uuid.UUID, year: int) -> TaxProfile | None:
    return await session.scalar(select(TaxProfile).where(TaxProfile.user_id == user_id, TaxProfile.tax_year == year))


async def profile_for(session: AsyncSession, user_id: uuid.UUID, year: int) -> TaxProfile | None:
    """The year's own profile, else the latest earlier one (a profile carries forward)."""
    return await session.scalar(
        select(TaxProfile)
        .where(TaxProfile.user_id == user_id, TaxProfile.tax_year <= year)
        .order_by(TaxProfile.tax_year.desc())
        .limit(1)
    )


async def save_profile(session: AsyncSession, user_id: uuid.UUID, year: int, values: dict[str, Any]) -> TaxProfile:
    row = await profile(session, user_id, year)
    if row is None:
        row = TaxProfile(user_id=user_id, tax_year=year, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    await session.flush()
    await bump(session, user_id)
    return row


# income and gains (read model)


async def record_income(
    session: AsyncSession, user_id: uuid.UUID, income_id: uuid.UUID, values: dict[str, Any]
) -> None:
    """Upsert the income's latest state; a tombstoned income stays deleted."""
    statement = insert(IncomeFact).values(income_id=income_id, user_id=user_id, deleted=False, **values)
    await _change_and_bump(
        session,
        user_id,
        statement.on_conflict_do_update(
            index_elements=["income_id"],
            set_=values,
            where=(IncomeFact.user_id == user_id) & IncomeFact.deleted.is_(False),
        ),
    )


async def first_income(session: AsyncSession, user_id: uuid.UUID, income_id: uuid.UUID, values: dict[str, Any]) -> None:
    """`income.received` is the first state: it never overwrites a later update or a deletion."""
    statement = insert(IncomeFact).values(income_id=income_id, user_id=user_id, deleted=False, **values)
    await _change_and_bump(session, user_id, statement.on_conflict_do_nothing(index_elements=["income_id"]))


async def forget_income(
    session: AsyncSession, user_id: uuid.UUID, income_id: uuid.UUID, values: dict[str, Any]
) -> None:
    statement = insert(IncomeFact).values(income_id=income_id, user_id=user_id, deleted=True, **values)
    await _change_and_bump(
        session,
        user_id,
        statement.on_conflict_do_update(
            index_elements=["income_id"], set_={"deleted": True}, where=IncomeFact.user_id == user_id
        ),
    )


async def replace_sale(
    session: AsyncSession, user_id: uuid.UUID, transaction_id: uuid.UUID, revision: int, lots: list[dict[str, Any]]
) -> bool:
    """Make `lots` the sell's disposals if `revision` is newer than what is held (or the first seen).

    Revision 0 lots arrive one event per lot, so the same revision adds lots; a higher one replaces all.
    """
    held = await session.scalar(
        select(SaleRevision).where(SaleRevision.transaction_id == transaction_id).with_for_update()
    )
    if held is not None and (held.user_id != user_id or held.revision > revision):
        return False
    if held is None:
        session.add(SaleRevision(transaction_id=transaction_id, user_id=user_id, revision=revision))
    elif held.revision < revision:
        held.revision = revision
        await session.execute(delete(RealizedGainFact).where(RealizedGainFact.transaction_id == transaction_id))
    await session.flush()
    if lots:
        statement = insert(RealizedGainFact).values(
            [{"transaction_id": transaction_id, "user_id": user_id, **lot} for lot in lots]
        )
        await session.execute(statement.on_conflict_do_nothing(index_elements=["transaction_id", "lot_id"]))
    await bump(session, user_id)
    return True


async def income_totals(session: AsyncSession, user_id: uuid.UUID, start: date, end: date, target: str) -> list[Any]:
    """The period's income summed by (currency, source_type) and, for a currency other than `target`,
    by day too (each day converts at its own rate): (currency, day | None, source_type, amount,
    tax_deducted, rows). Summing in the database keeps a 10,000-row year to a handful of rows."""
    day = case((IncomeFact.currency == target, null()), else_=IncomeFact.received_date).label("day")
    result = await session.execute(
        select(
            IncomeFact.currency,
            day,
            IncomeFact.source_type,
            func.sum(IncomeFact.amount),
            func.sum(IncomeFact.tax_deducted),
            func.count(),
        )
        .where(
            IncomeFact.user_id == user_id,
            IncomeFact.received_date.between(start, end),
            IncomeFact.deleted.is_(False),
        )
        .group_by(IncomeFact.currency, day, IncomeFact.source_type)
    )
    return list(result.all())


async def gain_totals(
    session: AsyncSession, user_id: uuid.UUID, start: date, end: date, target: str, long_after_months: int
) -> list[Any]:
    """Gains of lots disposed of in the period, summed by (currency, long term?) and, for a currency
    other than `target`, by disposal day: (currency, day | None, long_term, gain, rows).

    Long term = sold after the acquisition plus `long_after_months` months, month ends clamped, as
    `domain.is_long_term` decides (a test checks the two agree on edge dates)."""
    day = case((RealizedGainFact.currency == target, null()), else_=RealizedGainFact.disposal_date).label("day")
    anniversary = RealizedGainFact.acquisition_date + func.make_interval(0, long_after_months)
    long_term = (RealizedGainFact.disposal_date > anniversary).label("long_term")
    result = await session.execute(
        select(RealizedGainFact.currency, day, long_term, func.sum(RealizedGainFact.gain), func.count())
        .where(RealizedGainFact.user_id == user_id, RealizedGainFact.disposal_date.between(start, end))
        .group_by(RealizedGainFact.currency, day, long_term)
    )
    return list(result.all())


async def counted_deductions(
    session: AsyncSession, user_id: uuid.UUID, year: int, statuses: tuple[str, ...]
) -> list[Any]:
    """(category, amount, currency, deduction_date) of the deductions that count for the year."""
    result = await session.execute(
        select(TaxDeduction.category, TaxDeduction.amount, TaxDeduction.currency, TaxDeduction.deduction_date).where(
            TaxDeduction.user_id == user_id, TaxDeduction.tax_year == year, TaxDeduction.status.in_(statuses)
        )
    )
    return list(result.all())


# cached calculations


async def cached(session: AsyncSession, user_id: uuid.UUID, year: int) -> TaxCalculation | None:
    return await session.scalar(
        select(TaxCalculation).where(TaxCalculation.user_id == user_id, TaxCalculation.tax_year == year)
    )


async def save_calculation(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = insert(TaxCalculation).values(id=uuid.uuid4(), **values)
    keep = {k: v for k, v in values.items() if k not in ("user_id", "tax_year")}
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_tax_calculations_user_year",
            set_=keep,
            # A slower request computed from older inputs never overwrites a newer result.
            where=TaxCalculation.inputs_version <= values["inputs_version"],
        )
    )


# deductible expenses


async def deductible_category(
    session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID | None, category_name: str | None
) -> DeductibleCategory | None:
    """The user's mapping for an expense's category: by id first, then by name (case-insensitive)."""
    if category_id is not None:
        row = await session.scalar(
            select(DeductibleCategory).where(
                DeductibleCategory.user_id == user_id, DeductibleCategory.category_id == category_id
            )
        )
        if row is not None:
            return row
    if category_name:
        return await session.scalar(
            select(DeductibleCategory).where(
                DeductibleCategory.user_id == user_id, DeductibleCategory.category_name == category_name.strip().lower()
            )
        )
    return None


async def suggest(session: AsyncSession, user_id: uuid.UUID, values: dict[str, Any]) -> None:
    """A pending suggestion per expense; an edit updates it while still pending."""
    statement = insert(DeductionSuggestion).values(id=uuid.uuid4(), user_id=user_id, **values)
    changes = {k: v for k, v in values.items() if k != "expense_id"}
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_tax_deduction_suggestions_user_expense",
            set_=changes,
            where=DeductionSuggestion.status == SuggestionStatus.PENDING.value,
        )
    )


async def withdraw_suggestion(session: AsyncSession, user_id: uuid.UUID, expense_id: uuid.UUID) -> None:
    """The expense left a deductible category or was deleted: a pending suggestion goes."""
    await session.execute(
        delete(DeductionSuggestion).where(
            DeductionSuggestion.user_id == user_id,
            DeductionSuggestion.expense_id == expense_id,
            DeductionSuggestion.status == SuggestionStatus.PENDING.value,
        )
    )


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    for model in USER_TABLES:
        await session.execute(delete(model).where(model.user_id == user_id))
