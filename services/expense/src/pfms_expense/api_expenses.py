"""Expense routes: create, read, update, delete, list with filters, and summaries — of the caller's
personal expenses, or of a shared space's with `X-Space-ID` (pfms_platform.spaces)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import conversion, listing, money, payloads, spending, store, views
from pfms_expense.imports.rows import manual_fingerprint
from pfms_expense.models import Expense, Source
from pfms_expense.schemas import (
    ExpenseCreate,
    ExpenseFilters,
    ExpenseOut,
    ExpenseUpdate,
    Summary,
    SummaryQuery,
)
from pfms_expense.summaries import summarise
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Invalid
from pfms_platform.events.outbox import emit
from pfms_platform.metrics import EXPENSES_CREATED
from pfms_platform.reads import Reads, json_response
from pfms_platform.spaces import CurrentScope, Scope

router = APIRouter(prefix="/api/v1/expenses", tags=["expenses"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such expense of the caller"}}
SPACE_404: dict[int | str, dict[str, Any]] = {404: {"description": "X-Space-ID names no space of the caller's"}}
WRITE: dict[int | str, dict[str, Any]] = {403: {"description": "A viewer of the space may not change it"}}


def checked_amount(amount: Any, currency: str, field: str = "amount") -> Any:
    try:
        return money.check_amount(amount, currency)
    except ValueError as exc:
        raise Invalid(f"Invalid value for '{field}': {exc}", field=field) from exc


@router.get("", response_model=PageEnvelope[ExpenseOut], responses=SPACE_404)
async def list_expenses(scope: CurrentScope, reads: Reads, filters: Annotated[ExpenseFilters, Query()]) -> Response:
    """Filtered, sorted and paginated; `category_id` includes every sub-category. One read-only
    statement gives the page and its total (see listing.py)."""
    page = PageParams(page=filters.page, limit=filters.limit)
    scope.require("read")
    total, rows = await listing.fetch(reads, scope.user_id, filters, page, scope.space_id)
    return json_response(paged([views.expense(r) for r in rows], page, total))


@router.get("/summary", response_model=Envelope[Summary], responses=SPACE_404)
async def summary(scope: CurrentScope, request: Request, query: Annotated[SummaryQuery, Query()]) -> dict[str, Any]:
    """Totals by category, month or tag over a date range, in the caller's profile currency (in a space,
    members' expenses converted into another profile currency are listed as unconverted). A session of
    its own: its one snapshot must begin with it, after the space check has already queried."""
    if query.date_from > query.date_to:
        raise Invalid("date_from is after date_to", field="date_from")
    async with request.app.state.db.sessions() as session, session.begin():
        totals = await summarise(session, scope.require("read"), query)
    return ok(totals.model_dump(mode="json"))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[ExpenseOut], responses=SPACE_404 | WRITE)
async def create_expense(
    body: ExpenseCreate, scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Record an expense; publishes `expense.created`, converts it into the profile currency (if
    market-data answers; else later) and evaluates the budgets it counts towards."""
    user = scope.require("write").user_id
    currency = body.currency or await store.user_currency(session, user)
    amount = checked_amount(body.amount, currency)
    category = await store.category_in_body(session, body.category_id, user, space_id=scope.space_id)
    row = Expense(
        id=uuid.uuid4(),
        **scope.owner_values(),
        amount=amount,
        currency=currency,
        category_id=body.category_id,
        description=body.description,
        expense_date=body.expense_date,
        expense_time=body.expense_time,
        location=body.location.model_dump(mode="json") if body.location else None,
        payment_method=body.payment_method,
        account_id=body.account_id,
        tags=body.tags,
        attachments=[str(a) for a in body.attachments],
        source=Source.MANUAL.value,
        meta=body.metadata,
        fingerprint=manual_fingerprint(user, body.expense_date, amount, currency, body.description),
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await emit(session, payloads.created(row, category.name if category else None))
    EXPENSES_CREATED.labels("expense", "api").inc()
    converted = await conversion.convert_user(session, request.app.state.fx, user)
    await _evaluate(session, scope, {(row.expense_date, row.category_id, row.currency)}, converted)
    return ok(views.expense(row))


async def _evaluate(
    session: AsyncSession, scope: Scope, touched: set[spending.Touch], converted: set[spending.Touch]
) -> None:
    """The budgets of the expense's scope; the user's own conversions may cross their personal ones."""
    if scope.personal:
        await spending.evaluate(session, scope.user_id, touched | converted)
        return
    await spending.evaluate(session, scope.user_id, touched | converted, scope.space_id)
    if converted:
        await spending.evaluate(session, scope.user_id, converted)


@router.get("/{expense_id}", response_model=Envelope[ExpenseOut], responses=NOT_FOUND)
async def get_expense(expense_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(views.expense(await store.in_scope(session, Expense, expense_id, scope.require("read"))))


@router.patch("/{expense_id}", response_model=Envelope[ExpenseOut], responses=NOT_FOUND | WRITE)
async def update_expense(
    expense_id: uuid.UUID, body: ExpenseUpdate, scope: CurrentScope, session: Session, request: Request
) -> dict[str, Any]:
    """Partial update; publishes `expense.updated` (new state and previous amount/date/category) if
    anything changed, and re-evaluates the budgets of both the old and the new state. In a space any
    member may edit any of its expenses; its creator stays its `user_id`."""
    user = scope.require("write").user_id
    row = await store.in_scope(session, Expense, expense_id, scope, lock=True)
    changes = body.changes()
    currency = changes.get("currency", row.currency)
    if "amount" in changes or "currency" in changes:
        changes["amount"] = checked_amount(changes.get("amount", row.amount), currency)
    if "category_id" in changes:
        await store.category_in_body(session, changes["category_id"], user, space_id=scope.space_id)
    if "location" in changes and changes["location"] is not None:
        changes["location"] = body.location.model_dump(mode="json") if body.location else None
    if "attachments" in changes:
        changes["attachments"] = [str(a) for a in body.attachments or []]
    if "metadata" in changes:
        changes["meta"] = changes.pop("metadata")
    before = (row.amount, row.expense_date, row.category_id)
    touched_before = (row.expense_date, row.category_id, row.currency)
    diff = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if diff:
        for key, value in diff.items():
            setattr(row, key, value)
        if row.source == Source.MANUAL.value:  # an imported row keeps its bank's key (FITID) for re-imports
            row.fingerprint = manual_fingerprint(
                row.user_id, row.expense_date, row.amount, row.currency, row.description
            )
        if diff.keys() & {"amount", "currency", "expense_date"}:
            row.user_currency = row.fx_rate = row.amount_in_user_currency = None
        await session.flush()
        await session.refresh(row)
        await emit(session, payloads.updated(row, await store.category_name(session, row.category_id), before))
        converted = await conversion.convert_user(session, request.app.state.fx, row.user_id)
        touched = {touched_before, (row.expense_date, row.category_id, row.currency)}
        await _evaluate(session, store.of(row.user_id, row.space_id), touched, converted)
    return ok(views.expense(row))


@router.delete("/{expense_id}", response_model=Envelope[ExpenseOut], responses=NOT_FOUND | WRITE)
async def delete_expense(expense_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    """Delete; answers the expense as it was and publishes `expense.deleted`."""
    row = await store.in_scope(session, Expense, expense_id, scope.require("write"), lock=True)
    shown = views.expense(row)
    await emit(session, payloads.deleted(row))
    await session.delete(row)
    await session.flush()
    await spending.evaluate(session, row.user_id, [(row.expense_date, row.category_id, row.currency)], row.space_id)
    return ok(shown)
