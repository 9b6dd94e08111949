"""The projection cache: Redis, 5 minutes, keyed by the user's input version so a change is never served stale.

Every change to a projection input bumps `projection_inputs.version` in the same transaction as the
change itself, and the key carries that version: once the change commits, no request can find the
entry computed before it, and an entry computed from pre-change data can only be stored under the
old version. Old entries simply expire. Redis being down costs speed, never answers.
"""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from pfms_platform.logging import get_logger

log = get_logger(__name__)


def cache_key(
    user_id: uuid.UUID, version: int, today: date, days: int, currency: str, starting: Decimal, threshold: Decimal
) -> str:
    return f"income:projection:{user_id}:v{version}:{today.isoformat()}:{days}:{currency}:{starting}:{threshold}"


class ProjectionCache:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    async def get(self, key: str) -> dict[str, Any] | None:
        if not self.ttl:
            return None
        try:
            raw = await self.redis.get(key)
        except RedisError as exc:
            log.warning("projection cache read failed", error=str(exc)[:200])
            return None
        return dict(orjson.loads(raw)) if raw else None

    async def put(self, key: str, value: bytes) -> None:
        """`value` is the JSON of the projection."""
        if not self.ttl:
            return
        try:
            await self.redis.set(key, value, ex=self.ttl)
        except RedisError as exc:
            log.warning("projection cache write failed", error=str(exc)[:200])
