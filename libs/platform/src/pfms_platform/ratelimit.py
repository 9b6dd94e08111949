"""Per-user request limit keyed by the token's `sub`, counters in Redis.

Kong's own limits are per IP and per access token; with one issuer every user is the same Kong
consumer, so the per-user limit of the seed lives here, in every service.
"""

import time
import uuid

from fastapi import Request
from redis.asyncio import Redis

from pfms_platform.errors import TooManyRequests

WINDOW_SECONDS = 60

# INCR and set the expiry in one round trip, atomically.
_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class UserRateLimiter:
    def __init__(self, redis: Redis, limit_per_minute: int) -> None:
        self.redis = redis
        self.limit = limit_per_minute
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, user_id: uuid.UUID) -> tuple[int, int, int]:
        """Count one request; returns (limit, remaining, seconds until the window resets)."""
        now = int(time.time())
        window = now // WINDOW_SECONDS
        count = int(await self._script(keys=[f"rl:user:{user_id}:{window}"], args=[WINDOW_SECONDS]))
        reset = (window + 1) * WINDOW_SECONDS - now
        return self.limit, max(self.limit - count, 0), reset if count <= self.limit else -reset


async def enforce_user_limit(request: Request, user: uuid.UUID) -> None:
    """Raise 429 with `Retry-After` once the caller used up this minute's requests."""
    limiter: UserRateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None or limiter.limit == 0:
        return
    limit, _, reset = await limiter.hit(user)
    if reset < 0:
        raise TooManyRequests(
            "Too many requests for this user; slow down",
            headers={
                "Retry-After": str(-reset),
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(-reset),
            },
        )
