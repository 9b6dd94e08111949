"""Redis keys of the ai service (seed §2.9) and their invalidation when a user's data changes."""

import uuid

from redis.asyncio import Redis


def spending_monthly(user_id: uuid.UUID, month: str) -> str:
    return f"user:{user_id}:spending:monthly:{month}"


def top_category(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:category:top"


def insights_latest(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:insights:latest"


def cashflow(user_id: uuid.UUID) -> str:
    return f"user:{user_id}:predictions:cashflow"


async def forget(redis: Redis, user_id: uuid.UUID) -> None:
    """Drop every cached figure of a user (their expenses or income changed, or they left)."""
    keys = [top_category(user_id), insights_latest(user_id), cashflow(user_id)]
    keys += [key async for key in redis.scan_iter(match=spending_monthly(user_id, "*"), count=500)]
    await redis.delete(*keys)
