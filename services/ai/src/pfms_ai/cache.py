"""Redis keys of the ai service (from seed §2.9) and their invalidation when a user's data changes."""

import uuid

from redis.asyncio import Redis


def insights_latest(user_id: uuid.UUID) -> str:
    """Present while the stored insights of the user are current (value: when they were computed)."""
    return f"user:{user_id}:insights:latest"


def cashflow(user_id: uuid.UUID) -> str:
    """Hash of `<months>:<currency>` → the forecast JSON."""
    return f"user:{user_id}:predictions:cashflow"


async def forget_many(redis: Redis, users: list[uuid.UUID]) -> None:
    """Drop every cached figure of these users (their expenses or income changed, or they left)."""
    if users:
        await redis.delete(*(key for user in users for key in (insights_latest(user), cashflow(user))))
