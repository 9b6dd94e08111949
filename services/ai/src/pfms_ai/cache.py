"""Redis keys of the ai service (seed §2.9) and their invalidation when a user's data changes."""

import uuid
from typing import Any, cast

from redis.asyncio import Redis


def spending_monthly(user_id: uuid.UUID, month: str) -> str:
    """Hash of category → total spent in the month (`YYYY-MM`), in the user's main currency."""
    return f"user:{user_id}:spending:monthly:{month}"


def _months_index(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:spending:months"


def top_category(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:category:top"


def insights_latest(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:insights:latest"


def cashflow(user_id: uuid.UUID) -> str:
    """Hash of `<months>:<currency>` → the forecast JSON."""
    return f"user:{user_id}:predictions:cashflow"


async def remember_month(redis: Redis, user_id: uuid.UUID, month: str, totals: dict[str, str], ttl: int) -> None:
    key = spending_monthly(user_id, month)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.delete(key)
        if totals:
            pipe.hset(key, mapping=cast(Any, totals))
        else:
            pipe.hset(key, "_none", "0")
        pipe.expire(key, ttl)
        pipe.sadd(_months_index(user_id), month)
        pipe.expire(_months_index(user_id), ttl)
        await pipe.execute()


async def forget(redis: Redis, user_id: uuid.UUID) -> None:
    """Drop every cached figure of a user (their expenses or income changed, or they left)."""
    months = await redis.smembers(_months_index(user_id))
    keys = [top_category(user_id), insights_latest(user_id), cashflow(user_id), _months_index(user_id)]
    await redis.delete(*keys, *(spending_monthly(user_id, m if isinstance(m, str) else m.decode()) for m in months))
