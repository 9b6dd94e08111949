"""Per-user request limit keyed by the token's `sub`, counted in Redis across every replica.

Kong's own limits are per IP and per access token; with one issuer every user is the same Kong
consumer, so the per-user limit of the seed lives here, in every service.

A Redis round trip per request would be most of a cheap request's cost, so requests far from the
quota are counted in process and flushed to Redis in one pipeline every `flush_seconds`; once a
user's count comes within `exact_share` of the quota, every request is counted in Redis before it
is answered, so the limit is exact where it bites. The price: other replicas' requests are seen
up to `flush_seconds` late while a user is far from the limit, and a crash forgets at most that
long of counting.
"""

import asyncio
import time
import uuid
from collections import defaultdict

from fastapi import Request
from redis.asyncio import Redis

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserDeleted
from pfms_platform.errors import TooManyRequests
from pfms_platform.logging import get_logger

log = get_logger(__name__)

WINDOW_SECONDS = 60

# Add to this minute's counter and make sure it expires, atomically, in one round trip.
_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return n
"""

Slot = tuple[uuid.UUID, int]
"""A user and a minute window."""


def _key(slot: Slot) -> str:
    return f"rl:user:{slot[0]}:{slot[1]}"


class UserRateLimiter:
    def __init__(
        self, redis: Redis, limit_per_minute: int, *, flush_seconds: float = 0.1, exact_share: float = 0.8
    ) -> None:
        self.redis = redis
        self.limit = limit_per_minute
        self.flush_seconds = flush_seconds
        self._exact_from = limit_per_minute * exact_share
        self._script = redis.register_script(_SCRIPT)
        self._pending: defaultdict[Slot, int] = defaultdict(int)
        self._known: dict[Slot, int] = {}

    async def hit(self, user_id: uuid.UUID) -> tuple[int, int, int]:
        """Count one request; returns (limit, remaining, seconds until the window resets), the
        reset negative when this request is over the limit."""
        now = int(time.time())
        slot = (user_id, now // WINDOW_SECONDS)
        estimate = self._known.get(slot, 0) + self._pending[slot] + 1
        if estimate >= self._exact_from:
            count = await self._add(slot, self._pending.pop(slot, 0) + 1)
        else:
            self._pending[slot] += 1
            count = estimate
        reset = (slot[1] + 1) * WINDOW_SECONDS - now
        return self.limit, max(self.limit - count, 0), reset if count <= self.limit else -reset

    async def _add(self, slot: Slot, amount: int) -> int:
        count = int(await self._script(keys=[_key(slot)], args=[amount, WINDOW_SECONDS * 2]))
        self._known[slot] = count
        return count

    async def flush(self) -> None:
        """Push the locally counted requests to Redis in one pipeline and learn the totals."""
        pending, self._pending = self._pending, defaultdict(int)
        if pending:
            async with self.redis.pipeline(transaction=False) as pipe:
                for slot, amount in pending.items():
                    await self._script(keys=[_key(slot)], args=[amount, WINDOW_SECONDS * 2], client=pipe)
                totals = await pipe.execute()
            self._known.update({slot: int(total) for slot, total in zip(pending, totals, strict=True)})
        current = int(time.time()) // WINDOW_SECONDS
        self._known = {slot: n for slot, n in self._known.items() if slot[1] >= current - 1}

    async def forget(self, user_id: uuid.UUID) -> None:
        """Drop a deleted account's counters, in process and in Redis: no key names the person afterwards."""
        self._pending = defaultdict(int, {slot: n for slot, n in self._pending.items() if slot[0] != user_id})
        self._known = {slot: n for slot, n in self._known.items() if slot[0] != user_id}
        keys = [key async for key in self.redis.scan_iter(match=f"rl:user:{user_id}:*")]
        if keys:
            await self.redis.delete(*keys)

    async def forget_deleted(self, event: CloudEvent) -> None:
        """A bus watcher of `user.deleted` (`create_app` registers it): the account's counters go with it."""
        await self.forget(UserDeleted.model_validate(event.data).user_id)

    async def run(self) -> None:
        """Flush forever (a lifespan task); on cancel, flush what is left."""
        try:
            while True:
                await asyncio.sleep(self.flush_seconds)
                try:
                    await self.flush()
                except Exception as exc:  # Redis away: count again once it is back
                    log.warning("rate-limit flush failed", error=str(exc)[:200])
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # the Redis client can swallow a cancel that lands mid-command; shutdown must still end the loop
                    raise asyncio.CancelledError
        finally:
            try:
                await asyncio.shield(self.flush())
            except Exception as exc:
                log.warning("rate-limit final flush failed", error=str(exc)[:200])


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
