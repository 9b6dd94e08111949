"""Spending totals by category, month or tag over a date range, in the user's profile currency."""

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import store
from pfms_expense.models import Category, Expense
from pfms_expense.schemas import Summary, SummaryLine, SummaryQuery
from pfms_finance.currency import quantize


async def summarise(session: AsyncSession, user: uuid.UUID, query: SummaryQuery) -> Summary:
    """Totals of expenses in the user's currency; other currencies are listed apart, unconverted,
    until an FX source (the market-data service) exists. Tag totals count an expense once per tag."""
    currency = await store.user_currency(session, user)
    in_range = (
        Expense.user_id == user,
        Expense.expense_date >= query.date_from,
        Expense.expense_date <= query.date_to,
    )
    mine = (*in_range, Expense.currency == currency)
    lines: list[SummaryLine] = []
    if query.group_by == "category":
        rows = await session.execute(
            select(Expense.category_id, Category.name, func.sum(Expense.amount), func.count())
            .outerjoin(Category, Category.id == Expense.category_id)
            .where(*mine)
            .group_by(Expense.category_id, Category.name)
            .order_by(func.sum(Expense.amount).desc())
        )
        lines = [
            SummaryLine(key=str(cid) if cid else None, label=name, total=quantize(total, currency), count=n)
            for cid, name, total, n in rows
        ]
    elif query.group_by == "month":
        month = func.to_char(Expense.expense_date, "YYYY-MM")
        rows = await session.execute(
            select(month, func.sum(Expense.amount), func.count()).where(*mine).group_by(month).order_by(month)
        )
        lines = [SummaryLine(key=m, label=m, total=quantize(t, currency), count=n) for m, t, n in rows]
    else:
        tag = func.unnest(Expense.tags).label("tag")
        tagged = select(tag, Expense.amount).where(*mine).subquery()
        rows = await session.execute(
            select(tagged.c.tag, func.sum(tagged.c.amount), func.count())
            .group_by(tagged.c.tag)
            .order_by(func.sum(tagged.c.amount).desc(), tagged.c.tag)
        )
        lines = [SummaryLine(key=t, label=t, total=quantize(total, currency), count=n) for t, total, n in rows]
    total = await session.scalar(select(func.coalesce(func.sum(Expense.amount), 0)).where(*mine))
    others = await session.execute(
        select(Expense.currency, func.sum(Expense.amount))
        .where(*in_range, Expense.currency != currency)
        .group_by(Expense.currency)
        .order_by(Expense.currency)
    )
    return Summary(
        currency=currency,
        group_by=query.group_by,
        date_from=query.date_from,
        date_to=query.date_to,
        total=quantize(Decimal(total or 0), currency),
        lines=lines,
        other_currencies={code: quantize(amount, code) for code, amount in others},
    )
