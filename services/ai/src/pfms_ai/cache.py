"""Redis keys of the ai service (from seed §2.9) and their invalidation when a user's data changes."""

import uuid

from redis.asyncio import Redis


def insights_latest(user_id: uuid.UUID) -> str:
    """Present while the stored insights of the user are current (value: when they were computed)."""
    return f"user:{user_id}:insights:latest"


def cashflow(user_id: uuid.UUID) -> str:
    """Hash of `<months>:<currency>` → the forecast JSON."""
    return f"user:{user_id}:predictions:cashflow"


async def forget(redis: Redis, user_id: uuid.UUID) -> None:
    """Drop every cached figure of a user (their expenses or income changed, or they left)."""
    await redis.delete(insights_latest(user_id), cashflow(user_id))
