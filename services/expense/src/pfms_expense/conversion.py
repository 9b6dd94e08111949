"""Expenses into the user's profile currency at market-data's FX rate of each expense's date.

Every write path (create, update, import, the scheduler's materialisation through the job below)
leaves new rows with `amount_in_user_currency` NULL; `convert_user` fills every NULL row of a user
it has a rate for, asking market-data only for the (currency, day) pairs not in `fx_rates` yet: one
daily-history request per currency and year of dates, each day taking the close of that day or of
the last business day before it, exactly as market-data's own `fx` does. A row without a rate
(market-data down, or no rate known) stays NULL and is reported apart by summaries and budgets,
never converted at a made-up rate; the `convert_pending` job converts it once a rate can be had.
When the profile currency changes, the rows converted into the old one go back to NULL (`forget`)
and the job converts them again.
"""

import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import fx, spending, store
from pfms_expense.models import Budget, Expense, FxRate, UserSettings
from pfms_platform.db import Database
from pfms_platform.errors import NotFound
from pfms_platform.internal import InternalClient, UpstreamUnavailable
from pfms_platform.logging import get_logger

log = get_logger(__name__)

LOOKBACK = timedelta(days=14)
"""How far back the last business day's rate may be (market-data's `fx` looks as far)."""
SPAN = timedelta(days=366)
SOURCE = "market-data:forex-history"
UNCONVERTED = Expense.amount_in_user_currency.is_(None)
UNTOUCHED = {"updated_at": Expense.updated_at}
"""A conversion is bookkeeping, not an edit: the expense's `updated_at` stays."""


async def rates(
    session: AsyncSession, client: InternalClient, quote: str, pairs: Iterable[tuple[str, date]]
) -> dict[tuple[str, date], Decimal]:
    """The rates into `quote` of the (base, day) pairs: cached ones, and market-data's for the others
    (cached in turn). A pair market-data cannot answer (down, or no such rate) is left out, for a
    later try."""
    wanted = {(base, day) for base, day in pairs if base != quote}
    if not wanted:
        return {}
    cached = await session.execute(
        select(FxRate.base, FxRate.day, FxRate.rate).where(
            FxRate.quote == quote,
            FxRate.base.in_({b for b, _ in wanted}),
            FxRate.day.in_({d for _, d in wanted}),
        )
    )
    known = {(b, d): r for b, d, r in cached if (b, d) in wanted}
    missing = sorted(wanted - known.keys())
    if not missing:
        return known
    by_base: dict[str, list[date]] = defaultdict(list)
    for base, day in missing:
        by_base[base].append(day)
    found: list[dict[str, Any]] = []
    for base, days in sorted(by_base.items()):
        for span in _spans(days):
            try:
                closes = await client.history(f"{base}-{quote}", "forex", span[0] - LOOKBACK, span[-1])
            except UpstreamUnavailable as exc:
                log.warning("fx rates left for later", quote=quote, missing=len(missing), error=str(exc)[:200])
                break
            except NotFound:
                log.info("market-data has no such rates", base=base, quote=quote)
                continue
            found += _on_each_day(base, quote, span, closes)
        else:
            continue
        break  # market-data is unavailable: the other currencies wait for a later try too
    if found:
        await session.execute(insert(FxRate).values(found).on_conflict_do_nothing())
    return known | {(row["base"], row["day"]): row["rate"] for row in found}


def _spans(days: list[date]) -> Iterator[list[date]]:
    """The days in runs of at most a year: one history request each."""
    run: list[date] = []
    for day in sorted(days):
        if run and day - run[0] > SPAN:
            yield run
            run = []
        run.append(day)
    if run:
        yield run


def _on_each_day(base: str, quote: str, days: list[date], closes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each day's rate: the close of that day or of the last business day before it (as market-data's
    own `fx` answers: at most `LOOKBACK` back)."""
    ordered = sorted((date.fromisoformat(str(c["date"])), Decimal(str(c["close"]))) for c in closes)
    on = [day for day, _ in ordered]
    rows = []
    for day in days:
        at = bisect_right(on, day) - 1
        if at < 0 or day - on[at] > LOOKBACK or ordered[at][1] <= 0:
            continue
        rows.append(
            {"base": base, "quote": quote, "day": day, "rate": ordered[at][1], "rate_date": on[at], "source": SOURCE}
        )
    return rows


async def fetch_rates(
    session: AsyncSession, client: InternalClient, quote: str, pairs: Iterable[tuple[str, date]]
) -> int:
    """Make sure the pairs' rates are cached (as far as market-data answers); how many there are."""
    return len(await rates(session, client, quote, pairs))


async def profile_currency(session: AsyncSession, user_id: uuid.UUID) -> str:
    """The currency to convert into, read FOR SHARE: a concurrent currency change waits for this
    conversion to commit, then `forget`s what it wrote."""
    found = await session.scalar(
        select(UserSettings.currency).where(UserSettings.user_id == user_id).with_for_update(read=True)
    )
    return found or store.DEFAULT_CURRENCY


async def convert_user(session: AsyncSession, client: InternalClient, user_id: uuid.UUID) -> set[spending.Touch]:
    """Convert every unconverted expense of the user there is (or market-data gives) a rate for.

    Returns the (date, category, currency) of the foreign-currency rows converted and of rows that
    got a budget's rate, for the budget alerts (their spending may have just become countable)."""
    currency = await profile_currency(session, user_id)
    mine = (Expense.user_id == user_id, UNCONVERTED)
    # One statement: the rows in the profile currency convert at 1 (a CTE, run in full though unread),
    # and the (currency, day) pairs of the others are what is left to convert.
    same = (
        update(Expense)
        .where(*mine, Expense.currency == currency)
        .values(user_currency=currency, fx_rate=Decimal(1), amount_in_user_currency=Expense.amount, **UNTOUCHED)
        .cte("same")
    )
    others = select(Expense.currency, Expense.expense_date).where(*mine, Expense.currency != currency)
    pairs = (await session.execute(others.distinct().add_cte(same))).all()
    if not pairs:  # the usual write (in the profile currency) leaves nothing for the rate join to convert
        return await fetch_budget_rates(session, client, user_id, currency)
    await fetch_rates(session, client, currency, [(c, d) for c, d in pairs])
    rate = FxRate.__table__.c
    converted = await session.execute(
        update(Expense)
        .where(*mine, rate.base == Expense.currency, rate.quote == currency, rate.day == Expense.expense_date)
        .values(
            user_currency=currency,
            fx_rate=rate.rate,
            amount_in_user_currency=fx.converted_sql(Expense.amount, rate.rate, currency),
            **UNTOUCHED,
        )
        .returning(Expense.expense_date, Expense.category_id, Expense.currency)
        .execution_options(synchronize_session=False)
    )
    touched: set[spending.Touch] = {(d, c, cur) for d, c, cur in converted}
    return touched | await fetch_budget_rates(session, client, user_id, currency)


async def fetch_budget_rates(
    session: AsyncSession, client: InternalClient, user_id: uuid.UUID, profile_currency: str
) -> set[spending.Touch]:
    """Rates into the currency of each active budget kept in another currency than the profile's
    (the conversion above already fetched the profile currency's), for the expenses it may count."""
    budgets = (
        await session.execute(
            select(Budget.currency, func.min(Budget.start_date))
            .where(Budget.user_id == user_id, Budget.is_active, Budget.currency != profile_currency)
            .group_by(Budget.currency)
        )
    ).all()
    touched: set[spending.Touch] = set()
    for budget_currency, since in budgets:
        cached = FxRate.__table__.alias("cached")
        rows = (
            await session.execute(
                select(Expense.expense_date, Expense.category_id, Expense.currency)
                .outerjoin(
                    cached,
                    and_(
                        cached.c.base == Expense.currency,
                        cached.c.quote == budget_currency,
                        cached.c.day == Expense.expense_date,
                    ),
                )
                .where(
                    Expense.user_id == user_id,
                    Expense.currency != budget_currency,
                    Expense.expense_date >= since,
                    cached.c.rate.is_(None),
                )
                .distinct()
            )
        ).all()
        if rows and await fetch_rates(session, client, budget_currency, [(cur, d) for d, _, cur in rows]):
            touched |= {(d, c, cur) for d, c, cur in rows}
    return touched


async def convert_and_evaluate(session: AsyncSession, client: InternalClient, user_id: uuid.UUID) -> None:
    """A write path's conversion: what it converts may cross budget thresholds too."""
    touched = await convert_user(session, client, user_id)
    if touched:
        await spending.evaluate(session, user_id, touched)


async def forget(session: AsyncSession, user_id: uuid.UUID, currency: str) -> None:
    """The profile currency became `currency`: rows converted into another one are unconverted again."""
    await session.execute(
        update(Expense)
        .where(Expense.user_id == user_id, Expense.user_currency != currency)
        .values(user_currency=None, fx_rate=None, amount_in_user_currency=None, **UNTOUCHED)
        .execution_options(synchronize_session=False)
    )


async def convert_pending(db: Database, client: InternalClient, users: int = 50) -> int:
    """The background job: convert what the write paths could not (market-data was down, the currency
    changed, the scheduler booked it). Safe with several instances: a user's conversion runs under a
    transaction-level advisory lock that another instance skips instead of waiting for."""
    async with db.sessions() as session:
        pending = list(await session.scalars(select(Expense.user_id).where(UNCONVERTED).distinct().limit(users)))
    done = 0
    for user_id in pending:
        async with db.sessions() as session, session.begin():
            mine = await session.scalar(
                select(func.pg_try_advisory_xact_lock(func.hashtextextended(f"fx:{user_id}", 0)))
            )
            if not mine:
                continue
            await convert_and_evaluate(session, client, user_id)
            done += 1
    return done
