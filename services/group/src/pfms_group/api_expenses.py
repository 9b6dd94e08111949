"""Routes for group expenses, recurring expenses and the ledger export."""

import uuid
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy import func, select

from pfms_finance.currency import quantize
from pfms_group import access, feed, fx, ledger, revise
from pfms_group.models import (
    ExpenseKind,
    ExpensePayer,
    ExpenseSplit,
    FinanceGroup,
    GroupExpense,
    RecurringGroupExpense,
    Role,
)
from pfms_group.schemas import (
    Expense,
    ExpenseCreate,
    ExpenseUpdate,
    ParticipantIn,
    PayerIn,
    Recurring,
    RecurringCreate,
)
from pfms_group.splits import Participant
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, Forbidden, Invalid, NotFound
from pfms_platform.internal import InternalClient
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/groups", tags=["group expenses"])

Page = Annotated[PageParams, Depends()]


def draft_of(
    description: str,
    category: str | None,
    day: Any,
    amount: Any,
    currency: str,
    split_type: Any,
    participants: list[ParticipantIn],
    payers: list[PayerIn],
) -> ledger.Draft:
    return ledger.Draft(
        description=description,
        category=category,
        expense_date=day,
        amount=amount,
        currency=currency,
        split_type=split_type,
        participants=[Participant(p.user_id, p.amount, p.percentage, p.weight) for p in participants],
        payers={p.user_id: p.amount for p in payers},
    )


async def expenses_out(session: Session, group: FinanceGroup, rows: list[GroupExpense]) -> list[dict[str, Any]]:
    """Expenses with their shares and payers (two queries for the whole page)."""
    ids = [r.id for r in rows]
    shares: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    payers: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for s in await session.scalars(
        select(ExpenseSplit).where(ExpenseSplit.expense_id.in_(ids)).order_by(ExpenseSplit.user_id)
    ):
        shares[s.expense_id].append({"user_id": s.user_id, "amount": quantize(s.share_amount, group.currency)})
    for p in await session.scalars(
        select(ExpensePayer).where(ExpensePayer.expense_id.in_(ids)).order_by(ExpensePayer.user_id)
    ):
        payers[p.expense_id].append({"user_id": p.user_id, "amount": quantize(p.paid_amount, group.currency)})
    return [
        Expense.model_validate(
            {
                **{c: getattr(r, c) for c in Expense.model_fields if hasattr(r, c)},
                "group_currency": group.currency,
                "amount": quantize(r.amount, r.currency),
                "group_amount": quantize(r.group_amount, group.currency),
                "shares": shares[r.id],
                "payers": payers[r.id],
            }
        ).model_dump(mode="json")
        for r in rows
    ]


@router.post("/{group_id}/expenses", status_code=status.HTTP_201_CREATED, response_model=Envelope[Expense])
async def add_expense(
    group_id: uuid.UUID, body: ExpenseCreate, user: CurrentUser, session: Session, request: Request
) -> dict[str, Any]:
    """Split among the participants (all active members equally by default), paid by the payers
    (the caller by default); another currency is converted at market-data's rate on the expense date."""
    group, _ = await access.writer(session, group_id, user)
    members = {m.user_id for m in await access.active_members(session, group_id)}
    currency = body.currency or group.currency
    draft = draft_of(
        body.description,
        body.category,
        body.expense_date,
        body.amount,
        currency,
        body.split_type,
        body.participants,
        body.payers,
    )
    shares, paid = ledger.plan(draft, members, user)
    market: InternalClient = request.app.state.market
    rate, source = await fx.rate(market, currency, group.currency, body.expense_date)
    expense = await ledger.add_expense(
        session, group, draft, shares, paid, created_by=user, rate=rate, fx_source=source
    )
    assert expense is not None  # only a recurring occurrence can already exist
    row = await session.get(GroupExpense, expense.id)
    assert row is not None
    return ok((await expenses_out(session, group, [row]))[0])


@router.get("/{group_id}/expenses", response_model=PageEnvelope[Expense])
async def list_expenses(group_id: uuid.UUID, user: CurrentUser, session: Session, page: Page) -> dict[str, Any]:
    """Newest expense date first."""
    group, _ = await access.member(session, group_id, user)
    total = await session.scalar(
        select(func.count()).select_from(GroupExpense).where(GroupExpense.group_id == group_id)
    )
    rows = list(
        (
            await session.scalars(
                select(GroupExpense)
                .where(GroupExpense.group_id == group_id)
                .order_by(GroupExpense.expense_date.desc(), GroupExpense.id)
                .offset(page.offset)
                .limit(page.limit)
            )
        ).all()
    )
    return paged(await expenses_out(session, group, rows), page, int(total or 0))


@router.get("/{group_id}/expenses/{expense_id}", response_model=Envelope[Expense])
async def get_expense(
    group_id: uuid.UUID, expense_id: uuid.UUID, user: CurrentUser, session: Session
) -> dict[str, Any]:
    group, _ = await access.member(session, group_id, user)
    row = await session.scalar(
        select(GroupExpense).where(GroupExpense.id == expense_id, GroupExpense.group_id == group_id)
    )
    if row is None:
        raise NotFound("Expense not found")
    return ok((await expenses_out(session, group, [row]))[0])


async def _editable(
    session: Session, group_id: uuid.UUID, expense_id: uuid.UUID, user: uuid.UUID
) -> tuple[FinanceGroup, GroupExpense]:
    """The expense, locked, if the caller may change it: its creator or an admin (viewers 403, strangers 404)."""
    group, me = await access.writer(session, group_id, user)
    row = await session.scalar(
        select(GroupExpense).where(GroupExpense.id == expense_id, GroupExpense.group_id == group_id).with_for_update()
    )
    if row is None:
        raise NotFound("Expense not found")
    if row.created_by != user and me.role != Role.ADMIN.value:
        raise Forbidden("Only the member who added the expense or an admin can change it")
    if row.kind != ExpenseKind.EXPENSE.value:
        raise Conflict("A write-off cannot be changed")
    return group, row


@router.patch("/{group_id}/expenses/{expense_id}", response_model=Envelope[Expense])
async def edit_expense(
    group_id: uuid.UUID,
    expense_id: uuid.UUID,
    body: ExpenseUpdate,
    user: CurrentUser,
    session: Session,
    request: Request,
) -> dict[str, Any]:
    """Change any field; the split is recomputed (and a new currency or date re-converted at that
    date's rate) when amount, currency, date, split type, participants or payers change."""
    group, row = await _editable(session, group_id, expense_id, user)
    changes = body.model_dump(exclude_unset=True)
    for field in changes.keys() - {"category"}:
        if changes[field] is None:
            raise Invalid("may not be null", field=field)
    current = revise.current_draft(row)
    draft = replace(
        current,
        description=changes.get("description", current.description),
        category=changes.get("category", current.category),
        expense_date=changes.get("expense_date", current.expense_date),
        amount=changes.get("amount", current.amount),
        currency=changes.get("currency", current.currency),
        split_type=body.split_type or current.split_type,
    )
    if body.participants is not None:
        draft = replace(
            draft, participants=[Participant(p.user_id, p.amount, p.percentage, p.weight) for p in body.participants]
        )
    if body.payers is not None:
        draft = replace(draft, payers={p.user_id: p.amount for p in body.payers})
    old = await revise.lines_of(session, row, group.currency)
    rate, source = Decimal(row.fx_rate), row.fx_source
    new = None
    if changes.keys() & revise.SPLIT_FIELDS:
        draft = revise.carried_over(row, group, old, draft, set(changes))
        members = {m.user_id for m in await access.active_members(session, group_id)}
        new = ledger.plan(draft, members, user)
        market: InternalClient = request.app.state.market
        rate, source = await fx.rate(market, draft.currency, group.currency, draft.expense_date)
    await revise.update(session, group, row, draft, old, new, actor=user, rate=rate, fx_source=source, changes=changes)
    return ok((await expenses_out(session, group, [row]))[0])


@router.delete("/{group_id}/expenses/{expense_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_expense(group_id: uuid.UUID, expense_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Out of the ledger, the balances and the export; the activity feed keeps a line saying who deleted what."""
    group, row = await _editable(session, group_id, expense_id, user)
    await revise.delete_expense(session, group, row, user)


def recurring_out(row: RecurringGroupExpense) -> dict[str, Any]:
    return Recurring.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.post("/{group_id}/recurring", status_code=status.HTTP_201_CREATED, response_model=Envelope[Recurring])
async def add_recurring(
    group_id: uuid.UUID, body: RecurringCreate, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """A schedule the scheduler turns into one expense per occurrence, from `start_date` on."""
    group, _ = await access.writer(session, group_id, user)
    members = {m.user_id for m in await access.active_members(session, group_id)}
    currency = body.currency or group.currency
    draft = draft_of(
        body.description,
        body.category,
        body.start_date,
        body.amount,
        currency,
        body.split_type,
        body.participants,
        body.payers,
    )
    ledger.plan(draft, members, user)  # refuse now what would fail at every occurrence
    row = RecurringGroupExpense(
        group_id=group.id,
        created_by=user,
        description=body.description,
        category=body.category,
        amount=body.amount,
        currency=currency,
        split_type=body.split_type.value,
        participants=[p.model_dump(mode="json", exclude_none=True) for p in body.participants],
        payers=[p.model_dump(mode="json") for p in body.payers] or [{"user_id": str(user), "amount": str(body.amount)}],
        frequency=body.frequency.value,
        start_date=body.start_date,
        end_date=body.end_date,
        next_date=body.start_date,
        active=True,
    )
    session.add(row)
    await session.flush()
    await feed.record(session, group.id, user, "recurring.created", row.id, description=row.description)
    return ok(recurring_out(row))


@router.get("/{group_id}/recurring", response_model=Envelope[list[Recurring]])
async def list_recurring(group_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    await access.member(session, group_id, user)
    rows = await session.scalars(
        select(RecurringGroupExpense)
        .where(RecurringGroupExpense.group_id == group_id)
        .order_by(RecurringGroupExpense.created_at, RecurringGroupExpense.id)
    )
    return ok([recurring_out(r) for r in rows])


@router.delete("/{group_id}/recurring/{recurring_id}", status_code=status.HTTP_204_NO_CONTENT)
async def stop_recurring(group_id: uuid.UUID, recurring_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Stops the schedule; expenses it already made stay in the ledger."""
    await access.writer(session, group_id, user)
    row = await session.scalar(
        select(RecurringGroupExpense)
        .where(RecurringGroupExpense.id == recurring_id, RecurringGroupExpense.group_id == group_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("Recurring expense not found")
    await session.delete(row)
    await feed.record(session, group_id, user, "recurring.stopped", recurring_id, description=row.description)
