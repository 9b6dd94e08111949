"""Changes other services ask for over the bus: the ai service's category guesses and automation
rules' edits. They go through the same rules as the API (owned rows, the user's own categories,
amounts valid for their currency) and publish the same events; a request that cannot apply (the
expense is gone, the category unknown) is logged and dropped, never retried forever.
"""

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import ExpenseAmendRequested, ExpenseCategorized, ExpenseCreateRequested
from pfms_expense import money, payloads, spending, store
from pfms_expense.imports.rows import manual_fingerprint
from pfms_expense.models import Category, Expense, Source
from pfms_finance.currency import normalise_currency
from pfms_platform.errors import NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.logging import get_logger
from pfms_platform.metrics import EXPENSES_CREATED

log = get_logger(__name__)


async def resolve_category(
    session: AsyncSession, user_id: uuid.UUID, category_id: uuid.UUID | None, name: str | None
) -> Category | None:
    """The user's category by id, else by name (case-insensitive; the user's own before a system one)."""
    if category_id is not None:
        found = await session.scalar(select(Category).where(Category.id == category_id, Category.user_id == user_id))
        if found is not None:
            return found
    if not name or not name.strip():
        return None
    return await session.scalar(
        select(Category)
        .where(Category.user_id == user_id, func.lower(Category.name) == name.strip().lower())
        .order_by(Category.is_system, Category.id)
        .limit(1)
    )


def _tags(current: Iterable[str], add: Iterable[str], remove: Iterable[str]) -> list[str]:
    """Tags as the API stores them (trimmed, lower case, unique, at most 20), in their first order."""
    removed = {t.strip().lower() for t in remove}
    out: list[str] = []
    for tag in (*current, *(t.strip().lower() for t in add)):
        if tag and len(tag) <= 50 and tag not in removed and tag not in out:
            out.append(tag)
    return out[:20]


async def _owned(session: AsyncSession, user_id: uuid.UUID, expense_id: uuid.UUID) -> Expense | None:
    """The user's expense, locked, or None (a request about someone else's expense finds nothing)."""
    try:
        return await store.owned(session, Expense, expense_id, user_id, lock=True)
    except NotFound:
        return None


async def _amend(session: AsyncSession, row: Expense, category: Category | None, tags: list[str]) -> bool:
    """Apply a new category and/or tag list; publish `expense.updated` and re-check budgets if it changed."""
    before = (row.amount, row.expense_date, row.category_id)
    new_category = category.id if category is not None else row.category_id
    if new_category == row.category_id and tags == list(row.tags):
        return False
    row.category_id, row.tags = new_category, tags
    await session.flush()
    await session.refresh(row)
    name = category.name if category is not None else await store.category_name(session, row.category_id)
    await emit(session, payloads.updated(row, name, before))
    touched = {(row.expense_date, before[2], row.currency), (row.expense_date, row.category_id, row.currency)}
    await spending.evaluate(session, row.user_id, touched, row.space_id)
    return True


async def on_categorized(session: AsyncSession, data: ExpenseCategorized) -> None:
    """The model's guess applies only while the expense has no category: a person's choice wins."""
    row = await _owned(session, data.user_id, data.expense_id)
    if row is None or row.category_id is not None:
        log.info("category guess not applied", expense_id=str(data.expense_id), reason="gone or categorised")
        return
    category = await resolve_category(session, data.user_id, data.category_id, data.category_name)
    if category is None:
        log.warning("category guess names no category of the user", expense_id=str(data.expense_id))
        return
    await _amend(session, row, category, list(row.tags))


async def on_amend_requested(session: AsyncSession, data: ExpenseAmendRequested) -> None:
    row = await _owned(session, data.user_id, data.expense_id)
    if row is None:
        log.warning("amend request for an unknown expense", expense_id=str(data.expense_id), by=data.requested_by)
        return
    category = None
    if data.category_id is not None or data.category_name:
        category = await resolve_category(session, data.user_id, data.category_id, data.category_name)
        if category is None:
            log.warning("amend request names no category of the user", by=data.requested_by)
            return
    changed = await _amend(session, row, category, _tags(row.tags, data.add_tags, data.remove_tags))
    log.info("expense amended" if changed else "amend changed nothing", expense_id=str(row.id), by=data.requested_by)


async def on_create_requested(session: AsyncSession, data: ExpenseCreateRequested) -> None:
    """Recorded once: the request id is the expense id, so a repeat of the request finds it there."""
    try:
        currency = normalise_currency(data.currency)
        amount = money.check_amount(data.amount, currency)
    except ValueError as exc:
        log.warning("create request refused", by=data.requested_by, error=str(exc))
        return
    category = await resolve_category(session, data.user_id, data.category_id, data.category_name)
    description = data.description[:500]
    inserted = await session.scalar(
        insert(Expense)
        .values(
            id=data.request_id,
            user_id=data.user_id,
            amount=amount,
            currency=currency,
            category_id=category.id if category else None,
            description=description,
            expense_date=data.expense_date,
            tags=_tags((), data.tags, ()),
            source=Source.AUTO.value,
            meta={"requested_by": data.requested_by},
            fingerprint=manual_fingerprint(data.user_id, data.expense_date, amount, currency, description),
        )
        .on_conflict_do_nothing(index_elements=[Expense.id])
        .returning(Expense.id)
    )
    if inserted is None:
        return
    row = await session.get_one(Expense, inserted)
    await emit(session, payloads.created(row, category.name if category else None))
    EXPENSES_CREATED.labels("expense", "request").inc()
    await spending.evaluate(session, data.user_id, {(row.expense_date, row.category_id, row.currency)})
