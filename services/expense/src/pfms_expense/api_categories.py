"""Category routes: the default tree arrives with `user.created`; users add, rename, nest, merge, hide."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import categories, payloads, spending, store, views
from pfms_expense.models import Budget, Category, Expense, RecurringExpense
from pfms_expense.schemas import CategoryCreate, CategoryMerge, CategoryOut, CategoryUpdate, MergeOut
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Forbidden, Invalid
from pfms_platform.events.outbox import emit, emit_many
from pfms_platform.reads import Reads, Where, json_response, page_statement
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/categories", tags=["categories"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such category of the caller"}}
CONFLICTS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "System categories can be hidden, not renamed, moved, merged or deleted"},
    409: {"description": "Name taken, or the category is still in use"},
}
SYSTEM_FIXED = "System categories can be hidden, recoloured or given another icon, not renamed, moved or removed"


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("You already have a category with this name", field="name") from exc


async def _parent(session: AsyncSession, user: uuid.UUID, parent_id: uuid.UUID | None, node: uuid.UUID | None) -> None:
    """The parent must be the caller's and must not sit below the category itself."""
    if parent_id is None:
        return
    if await store.category_in_body(session, parent_id, user, field="parent_id") is None:
        return
    if node is not None and categories.creates_cycle(await store.parents(session, user), node, parent_id):
        raise Invalid("A category cannot be nested below itself", field="parent_id")


@router.get("", response_model=PageEnvelope[CategoryOut])
async def list_categories(
    user: CurrentUser,
    reads: Reads,
    page: Annotated[PageParams, Query()],
    include_hidden: bool = False,
) -> Response:
    """The caller's categories, parents before children (`parent_id` gives the tree). A hot read: one
    statement on the read pool (pfms_platform.reads), each row shaped as `views.category` shapes it."""
    where = Where()
    where.add("user_id = {}", user)
    if not include_hidden:
        where.add("NOT hidden")
    limit, offset = where.param(page.limit), where.param(page.offset)
    order = "parent_category_id IS NOT NULL, name, id"
    sql = page_statement("expense_categories", views.CATEGORY_COLUMNS, where.sql, order, limit, offset)
    total, rows = await reads.page(sql, *where.args)
    return json_response(paged([views.category_row(r) for r in rows], page, total))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[CategoryOut], responses=CONFLICTS)
async def create_category(body: CategoryCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    await _parent(session, user, body.parent_id, None)
    row = Category(
        id=uuid.uuid4(),
        user_id=user,
        name=body.name,
        icon=body.icon,
        color=body.color,
        parent_category_id=body.parent_id,
        is_system=False,
        hidden=False,
    )
    session.add(row)
    await _flush(session)
    await session.refresh(row)
    return ok(views.category(row))


@router.get("/{category_id}", response_model=Envelope[CategoryOut], responses=NOT_FOUND)
async def get_category(category_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(views.category(await store.owned(session, Category, category_id, user)))


@router.patch("/{category_id}", response_model=Envelope[CategoryOut], responses=CONFLICTS)
async def update_category(
    category_id: uuid.UUID, body: CategoryUpdate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Rename, recolour, re-icon, nest (`parent_id`; null for top level) or hide/show."""
    row = await store.owned(session, Category, category_id, user, lock=True)
    changes = body.changes()
    if row.is_system and {"name", "parent_id"} & changes.keys():
        raise Forbidden(SYSTEM_FIXED, field="name" if "name" in changes else "parent_id")
    if "parent_id" in changes:
        await _parent(session, user, changes["parent_id"], row.id)
        row.parent_category_id = changes.pop("parent_id")
    for key, value in changes.items():
        setattr(row, key, value)
    await _flush(session)
    await session.refresh(row)
    return ok(views.category(row))


@router.delete("/{category_id}", response_model=Envelope[CategoryOut], responses=CONFLICTS)
async def delete_category(category_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Only an unused category of the user's own goes; its sub-categories move up to its parent.
    A category with expenses, schedules or budgets — the user's, or a shared space's filed under it by
    another member — is merged into another instead."""
    row = await store.owned(session, Category, category_id, user, lock=True)
    if row.is_system:
        raise Forbidden(SYSTEM_FIXED)
    for what, rows in (
        ("expenses", store.mine_or_shared(Expense, user) & (Expense.category_id == row.id)),
        ("recurring expenses", store.mine_or_shared(RecurringExpense, user) & (RecurringExpense.category_id == row.id)),
        ("budgets", Budget.category_id == row.id),
    ):
        if await session.scalar(select(exists().where(rows))):
            raise Conflict(f"The category still has {what}; merge it into another category instead")
    shown = views.category(row)
    await session.execute(
        update(Category)
        .where(Category.user_id == user, Category.parent_category_id == row.id)
        .values(parent_category_id=row.parent_category_id)
    )
    await session.delete(row)
    await session.flush()
    return ok(shown)


@router.post("/{category_id}/merge", response_model=Envelope[MergeOut], responses=CONFLICTS)
async def merge_category(
    category_id: uuid.UUID, body: CategoryMerge, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Move everything of this category (expenses, schedules, budgets, sub-categories) into another, then
    delete it — shared spaces' rows filed under it by other members too. Each moved expense is announced
    as `expense.updated`; the budgets of each scope they belong to are re-evaluated."""
    source = await store.owned(session, Category, category_id, user, lock=True)
    if source.is_system:
        raise Forbidden(SYSTEM_FIXED)
    target = await store.category_in_body(session, body.into_id, user, field="into_id")
    assert target is not None
    if target.id == source.id:
        raise Invalid("A category cannot be merged into itself", field="into_id")
    if target.parent_category_id == source.id:
        target.parent_category_id = source.parent_category_id
    await session.execute(
        update(Category)
        .where(Category.user_id == user, Category.parent_category_id == source.id, Category.id != target.id)
        .values(parent_category_id=target.id)
    )
    filed = store.mine_or_shared(Expense, user) & (Expense.category_id == source.id)
    moved = list((await session.scalars(select(Expense).where(filed))).all())
    for expense in moved:
        expense.category_id = target.id
    schedules = list(
        (
            await session.scalars(
                select(RecurringExpense).where(
                    store.mine_or_shared(RecurringExpense, user), RecurringExpense.category_id == source.id
                )
            )
        ).all()
    )
    for schedule in schedules:
        schedule.category_id = target.id
    await session.execute(update(Budget).where(Budget.category_id == source.id).values(category_id=target.id))
    await session.flush()
    await session.delete(source)
    await session.flush()
    await emit_many(session, [payloads.updated(e, target.name, (e.amount, e.expense_date, source.id)) for e in moved])
    for schedule in schedules:
        await emit(session, payloads.schedule_changed(schedule))
    for space in sorted({e.space_id for e in moved}, key=lambda s: (s is not None, str(s))):
        touched = {(e.expense_date, target.id, e.currency) for e in moved if e.space_id == space}
        await spending.evaluate(session, user, touched, space)
    await session.refresh(target)
    return ok({"into": views.category(target), "moved_expenses": len(moved)})
