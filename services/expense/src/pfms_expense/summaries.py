"""Spending totals by category, month or tag over a date range, in the user's profile currency."""

from decimal import Decimal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import store
from pfms_expense.models import Category, Expense
from pfms_expense.schemas import Summary, SummaryLine, SummaryQuery, Unconverted
from pfms_finance.currency import quantize
from pfms_platform.spaces import Scope


async def summarise(session: AsyncSession, scope: Scope, query: SummaryQuery) -> Summary:
    """Totals of every expense converted into the user's currency (pure SQL over the converted column);
    expenses not converted yet (no rate so far) are listed apart per currency, never guessed.
    Tag totals count an expense once per tag."""
    # One snapshot for every statement below: a conversion committing in between would otherwise
    # leave a row out of both the totals and the unconverted list.
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    currency = await store.user_currency(session, scope.user_id)
    in_range = (
        scope.owns(Expense),
        Expense.expense_date >= query.date_from,
        Expense.expense_date <= query.date_to,
    )
    converted = (*in_range, Expense.user_currency == currency, Expense.amount_in_user_currency.is_not(None))
    amount = Expense.amount_in_user_currency
    lines: list[SummaryLine] = []
    if query.group_by == "category":
        rows = await session.execute(
            select(Expense.category_id, Category.name, func.sum(amount), func.count())
            .outerjoin(Category, Category.id == Expense.category_id)
            .where(*converted)
            .group_by(Expense.category_id, Category.name)
            .order_by(func.sum(amount).desc())
        )
        lines = [
            SummaryLine(key=str(cid) if cid else None, label=name, total=quantize(total, currency), count=n)
            for cid, name, total, n in rows
        ]
    elif query.group_by == "month":
        month = func.to_char(Expense.expense_date, "YYYY-MM")
        rows = await session.execute(
            select(month, func.sum(amount), func.count()).where(*converted).group_by(month).order_by(month)
        )
        lines = [SummaryLine(key=m, label=m, total=quantize(t, currency), count=n) for m, t, n in rows]
    else:
        tag = func.unnest(Expense.tags).label("tag")
        tagged = select(tag, amount.label("amount")).where(*converted).subquery()
        rows = await session.execute(
            select(tagged.c.tag, func.sum(tagged.c.amount), func.count())
            .group_by(tagged.c.tag)
            .order_by(func.sum(tagged.c.amount).desc(), tagged.c.tag)
        )
        lines = [SummaryLine(key=t, label=t, total=quantize(total, currency), count=n) for t, total, n in rows]
    total = await session.scalar(select(func.coalesce(func.sum(amount), 0)).where(*converted))
    pending = await session.execute(
        select(Expense.currency, func.sum(Expense.amount), func.count())
        .where(*in_range, (Expense.user_currency.is_distinct_from(currency)) | amount.is_(None))
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
        unconverted=[Unconverted(currency=code, total=quantize(t, code), count=n) for code, t, n in pending],
    )
