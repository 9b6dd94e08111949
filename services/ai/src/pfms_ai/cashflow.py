"""The cash-flow forecast of one user from their own monthly expense and income history, cached in
Redis (`user:{id}:predictions:cashflow`) until their data changes, its monthly history in
`analytics_cache` (TTL index)."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from redis.asyncio import Redis

from pfms_ai import cache, forecast, readmodel
from pfms_ai.forecast import money
from pfms_ai.settings import Settings
from pfms_ai.store import ANALYTICS_CACHE
from pfms_platform.errors import Invalid


async def history(
    db: AsyncIOMotorDatabase[Any], settings: Settings, user_id: uuid.UUID, currency: str | None
) -> tuple[str, int, list[Decimal], list[Decimal]]:
    """(currency, first month index, expenses per month, income per month) up to the last complete month."""
    key = f"monthly:{currency or '*'}"
    cached = await db[ANALYTICS_CACHE].find_one({"user_id": str(user_id), "cache_key": key})
    if cached is not None:
        data = cached["data"]
        return (
            data["currency"],
            data["first"],
            [Decimal(x) for x in data["spent"]],
            [Decimal(x) for x in data["earned"]],
        )
    spent = await readmodel.expenses(db, user_id)
    earned = await readmodel.incomes(db, user_id)
    currency = currency or readmodel.main_currency(spent, earned)
    if currency is None:
        raise Invalid("No expense or income history to forecast from yet")
    spent_items = [(s.day, s.amount) for s in spent if s.currency == currency]
    earned_items = [(e.day, e.amount) for e in earned if e.currency == currency]
    days = [d for d, _ in spent_items + earned_items]
    last = forecast.month_index(datetime.now(UTC).date()) - 1
    first = min((forecast.month_index(d) for d in days), default=last + 1)
    series = (forecast.monthly(spent_items, first, last), forecast.monthly(earned_items, first, last))
    now = datetime.now(UTC)
    await db[ANALYTICS_CACHE].update_one(
        {"user_id": str(user_id), "cache_key": key},
        {
            "$set": {
                "data": {
                    "currency": currency,
                    "first": first,
                    "spent": [str(x) for x in series[0]],
                    "earned": [str(x) for x in series[1]],
                },
                "created_at": now,
                "expires_at": now + timedelta(seconds=settings.cache_seconds),
            }
        },
        upsert=True,
    )
    return currency, first, *series


async def predict(
    db: AsyncIOMotorDatabase[Any],
    redis: Redis,
    settings: Settings,
    user_id: uuid.UUID,
    months: int,
    currency: str | None,
) -> dict[str, Any]:
    field = f"{months}:{currency or '*'}"
    hit = await redis.hget(cache.cashflow(user_id), field)
    if hit:
        return dict(json.loads(hit))
    currency, first, spent, earned = await history(db, settings, user_id, currency)
    try:
        out = forecast.forecast(spent, months)
        inn = forecast.forecast(earned, months)
    except ValueError as exc:
        raise Invalid(f"Not enough history: {exc}", field="months") from exc
    last = first + len(spent) - 1
    rows = []
    for h, (o, i) in enumerate(zip(out.points, inn.points, strict=True), start=1):
        # the net's spread combines both as if independent (root of the summed squares)
        spread = (
            (((o.upper80 - o.point) ** 2 + (i.upper80 - i.point) ** 2).sqrt()) if o.point or i.point else Decimal(0)
        )
        net = i.point - o.point
        rows.append(
            {
                "month": forecast.month_name(last + h),
                "expenses": str(money(o.point)),
                "income": str(money(i.point)),
                "net": str(money(net)),
                "expenses_80": {"lower": str(money(o.lower80)), "upper": str(money(o.upper80))},
                "expenses_95": {"lower": str(money(o.lower95)), "upper": str(money(o.upper95))},
                "income_80": {"lower": str(money(i.lower80)), "upper": str(money(i.upper80))},
                "income_95": {"lower": str(money(i.lower95)), "upper": str(money(i.upper95))},
                "net_80": {"lower": str(money(net - spread)), "upper": str(money(net + spread))},
            }
        )
    result = {
        "currency": currency,
        "method": out.method,
        "history_months": len(spent),
        "history": [
            {"month": forecast.month_name(first + k), "expenses": str(money(s)), "income": str(money(e))}
            for k, (s, e) in enumerate(zip(spent, earned, strict=True))
        ],
        "forecast": rows,
    }
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(cache.cashflow(user_id), field, json.dumps(result))
        pipe.expire(cache.cashflow(user_id), settings.cache_seconds)
        await pipe.execute()
    return result
