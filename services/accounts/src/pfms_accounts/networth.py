"""Net worth now and at the end of each past day, in the user's currency.

Of a scope: the caller's personal accounts, or a shared space's. Now: every account's running balance.
A past day: each account's `balance_after` of its last posting
that day or before (one index probe per account and day), split into positive (assets) and negative
(liabilities) sums per currency, converted at that day's market-data rate.
"""

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_accounts import domain, fx
from pfms_accounts.domain import AccountType, Holding, NetWorth
from pfms_accounts.models import Account, Holder
from pfms_platform.spaces import Scope

HISTORY = """
    SELECT d.day::date AS day, a.currency,
           sum(greatest(b.balance_after, 0)) AS positive, sum(least(b.balance_after, 0)) AS negative
    FROM generate_series(CAST(:start AS date), CAST(:stop AS date), interval '1 day') AS d(day)
    CROSS JOIN accounts a
    JOIN LATERAL (
        SELECT p.balance_after FROM postings p
        WHERE p.account_id = a.id AND p.created_at < d.day + interval '1 day'
        ORDER BY p.created_at DESC, p.seq DESC LIMIT 1
    ) b ON true
    WHERE {scope} AND a.type <> 'external'
    GROUP BY d.day, a.currency
"""
PERSONAL = "a.user_id = :owner AND a.space_id IS NULL"
SHARED = "a.space_id = :owner"


async def currency_of(session: AsyncSession, user_id: uuid.UUID, default: str) -> str:
    return await session.scalar(select(Holder.currency).where(Holder.user_id == user_id)) or default


async def value(app: FastAPI, holdings: list[Holding], currency: str, day: date) -> NetWorth:
    rates = {h.currency: await fx.rate(app, h.currency, currency, day) for h in holdings if h.currency != currency}
    return domain.net_worth(holdings, currency, rates)


async def now(app: FastAPI, session: AsyncSession, scope: Scope, currency: str) -> NetWorth:
    rows = await session.execute(
        select(Account.currency, Account.balance).where(scope.owns(Account), Account.type != AccountType.EXTERNAL.value)
    )
    holdings = [Holding(c, b) for c, b in rows if b != 0]
    return await value(app, holdings, currency, datetime.now(UTC).date())


async def history(
    app: FastAPI, session: AsyncSession, scope: Scope, currency: str, start: date, stop: date
) -> list[tuple[date, NetWorth]]:
    by_day: dict[date, list[Holding]] = defaultdict(list)
    query = text(HISTORY.format(scope=PERSONAL if scope.personal else SHARED))
    rows = await session.execute(query, {"start": start, "stop": stop, "owner": scope.space_id or scope.user_id})
    for day, ccy, positive, negative in rows:
        by_day[day] += [Holding(ccy, Decimal(positive)), Holding(ccy, Decimal(negative))]
    out = []
    day = start
    while day <= stop:
        out.append((day, await value(app, [h for h in by_day[day] if h.balance != 0], currency, day)))
        day += timedelta(days=1)
    return out
