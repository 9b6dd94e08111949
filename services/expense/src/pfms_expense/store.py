"""Queries shared by routes, handlers, the scheduler and the import job; each scoped to one user, or
to one shared space for expenses, budgets and recurring expenses (pfms_platform.spaces)."""

import uuid
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, select, union
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import categories
from pfms_expense.models import (
    Budget,
    Category,
    Expense,
    Habit,
    HabitLog,
    ImportBatch,
    ImportMapping,
    RecurringExpense,
    UserSettings,
)
from pfms_platform.errors import Invalid, NotFound
from pfms_platform.spaces import Scope, SpaceMembership

Owned = TypeVar("Owned", Category, Expense, RecurringExpense, Habit, Budget, ImportBatch, ImportMapping)

DEFAULT_CURRENCY = "USD"

_NAMES = {
    Category: "Category",
    Expense: "Expense",
    RecurringExpense: "Recurring expense",
    Habit: "Habit",
    Budget: "Budget",
    ImportBatch: "Import batch",
    ImportMapping: "Import mapping",
}


async def owned(
    session: AsyncSession, model: type[Owned], row_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> Owned:
    """The caller's row, or 404 — for someone else's row exactly as for one that does not exist."""
    query = select(model).where(model.id == row_id, model.user_id == user_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"{_NAMES[model]} not found")
    return row


Scoped = TypeVar("Scoped", Expense, Budget, RecurringExpense)


def of(user_id: uuid.UUID, space_id: uuid.UUID | None) -> Scope:
    """The scope a row belongs to, for work done outside a request (handlers, jobs): only its owner
    columns matter there, never a role."""
    return Scope(user_id, space_id, "owner" if space_id is None else "member")


async def in_scope(
    session: AsyncSession, model: type[Scoped], row_id: uuid.UUID, scope: Scope, *, lock: bool = False
) -> Scoped:
    """The row of the caller's scope (their personal one, or the space of X-Space-ID), or 404 — for
    another space's or another user's row exactly as for one that does not exist."""
    query = select(model).where(model.id == row_id, scope.owns(model))
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"{_NAMES[model]} not found")
    return row


def mine_or_shared(model: type[Expense] | type[RecurringExpense], user_id: uuid.UUID) -> ColumnElement[bool]:
    """The user's rows and those of the spaces they are in: where rows filed under their categories are
    (by the user's indexes and the spaces' own, never a scan of everyone's rows)."""
    spaces = select(SpaceMembership.space_id).where(SpaceMembership.user_id == user_id)
    return (model.user_id == user_id) | model.space_id.in_(spaces)


async def category_in_body(
    session: AsyncSession,
    category_id: uuid.UUID | None,
    user_id: uuid.UUID,
    field: str = "category_id",
    *,
    space_id: uuid.UUID | None = None,
) -> Category | None:
    """A category named in a request body: the caller's — or, in a space, any member's, so that members
    can file expenses under the category of a shared budget — or 422 on the field (never whose it is)."""
    if category_id is None:
        return None
    owner = Category.user_id == user_id
    if space_id is not None:
        members = select(SpaceMembership.user_id).where(SpaceMembership.space_id == space_id)
        owner = owner | Category.user_id.in_(members)
    row = await session.scalar(select(Category).where(Category.id == category_id, owner))
    if row is None:
        raise Invalid("Unknown category", field=field)
    return row


async def category_name(session: AsyncSession, category_id: uuid.UUID | None) -> str | None:
    """The name of a row's category, checked when it was set (in a space it may be another member's)."""
    if category_id is None:
        return None
    return await session.scalar(select(Category.name).where(Category.id == category_id))


async def parents(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID | None]:
    rows = await session.execute(select(Category.id, Category.parent_category_id).where(Category.user_id == user_id))
    return {row.id: row.parent_category_id for row in rows}


async def budget_parents(
    session: AsyncSession, user_id: uuid.UUID, space_id: uuid.UUID | None, budgets: list[Budget]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """The category trees the budgets count in: the user's own; in a space, those of the members whose
    categories the budgets name. Empty when no budget names a category (overall budgets count every row):
    an expense write then reads no category tree."""
    named = {b.category_id for b in budgets if b.category_id is not None}
    if not named:
        return {}
    if space_id is None:
        return await parents(session, user_id)
    owners = select(Category.user_id).where(Category.id.in_(named))
    rows = await session.execute(select(Category.id, Category.parent_category_id).where(Category.user_id.in_(owners)))
    return {row.id: row.parent_category_id for row in rows}


async def user_currency(session: AsyncSession, user_id: uuid.UUID) -> str:
    found = await session.scalar(select(UserSettings.currency).where(UserSettings.user_id == user_id))
    return found or DEFAULT_CURRENCY


async def create_defaults(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Settings row and the default category tree; False (nothing written) if the user is known."""
    created = await session.scalar(
        insert(UserSettings)
        .values(user_id=user_id)
        .on_conflict_do_nothing(index_elements=[UserSettings.user_id])
        .returning(UserSettings.user_id)
    )
    if created is None:
        return False
    rows = categories.default_rows(user_id)
    await session.execute(
        insert(Category).values(rows).on_conflict_do_nothing(constraint="uq_expense_categories_user_name")
    )
    return True


async def set_currency(session: AsyncSession, user_id: uuid.UUID, currency: str) -> None:
    await session.execute(
        insert(UserSettings)
        .values(user_id=user_id, currency=currency)
        .on_conflict_do_update(index_elements=[UserSettings.user_id], set_={"currency": currency})
    )


SHARED = (Expense, RecurringExpense, Budget)
"""The tables whose rows may belong to a shared space."""


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every personal row of the user, children before parents (batches' issues and logs cascade). What
    they made in a shared space is the household's and stays with it (user_id is only an opaque id
    there), and so do the categories rows still file under, so the space's totals and budgets stay whole."""
    for model in (HabitLog, Habit, ImportBatch, ImportMapping, UserSettings):
        await session.execute(delete(model).where(model.user_id == user_id))
    for shared in SHARED:
        await session.execute(delete(shared).where(shared.user_id == user_id, shared.space_id.is_(None)))
    await drop_unused_categories(session, Category.user_id == user_id)


async def purge_space(session: AsyncSession, space_id: uuid.UUID) -> None:
    """Every expense, recurring expense and budget of a deleted space (crossings cascade), then the
    categories of deleted members that only the space's rows still used."""
    filed = union(*(select(model.category_id).where(model.space_id == space_id) for model in SHARED))
    owners = set(await session.scalars(select(Category.user_id).where(Category.id.in_(filed)).distinct()))
    for model in SHARED:
        await session.execute(delete(model).where(model.space_id == space_id))
    if owners:
        deleted = ~select(UserSettings.user_id).where(UserSettings.user_id == Category.user_id).exists()
        await drop_unused_categories(session, Category.user_id.in_(owners) & deleted)


async def drop_unused_categories(session: AsyncSession, among: ColumnElement[bool]) -> None:
    """Delete the categories matching `among` that no expense, schedule or budget files under, keeping
    the parents of those that are (a budget on a parent counts its children)."""
    rows = await session.execute(select(Category.id, Category.parent_category_id).where(among))
    tree = {row.id: row.parent_category_id for row in rows}
    if not tree:
        return
    ids = list(tree)
    used = union(
        # Only space rows can file under another person's category; budgets all, as they restrict the delete.
        select(Expense.category_id).where(Expense.space_id.is_not(None), Expense.category_id.in_(ids)),
        select(RecurringExpense.category_id).where(
            RecurringExpense.space_id.is_not(None), RecurringExpense.category_id.in_(ids)
        ),
        select(Budget.category_id).where(Budget.category_id.in_(ids)),
    )
    keep = categories.with_ancestors(set(await session.scalars(used)), tree)
    doomed = among & Category.id.not_in(keep)
    await session.execute(Category.__table__.update().where(doomed).values(parent_category_id=None))
    await session.execute(delete(Category).where(doomed))
