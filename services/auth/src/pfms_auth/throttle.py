"""Short-lived state in Redis: failed-attempt windows and locks, mail quotas and MFA challenges.

Keys name accounts by a digest of the email, never the address itself, and an unknown address is
counted exactly like a known one, so that a lock says nothing about whether an account exists.
"""

import json
import time
import uuid
from typing import Any

from redis.asyncio import Redis

from pfms_auth import lockout
from pfms_auth.tokens import digest

_PREFIX = "auth"


def account_key(email: str) -> str:
    return "acct:" + digest(email)[:32]


def ip_key(ip: str) -> str:
    return "ip:" + ip


class Throttle:
    def __init__(self, redis: Redis, *, account: lockout.Policy, ip: lockout.Policy, mail_quota: int) -> None:
        self.redis = redis
        self.account = account
        self.ip = ip
        self.mail_quota = mail_quota

    async def retry_after(self, *keys: str) -> int | None:
        """Seconds until the longest lock among `keys` ends, or None when none is locked."""
        ttls = [await self.redis.pttl(f"{_PREFIX}:lock:{key}") for key in keys]
        longest = max((t for t in ttls if t > 0), default=0)
        return lockout.retry_after(longest / 1000, 0) if longest else None

    async def fail(self, key: str, policy: lockout.Policy) -> None:
        """Count one failure; lock `key` once it reaches the policy's limit inside the window."""
        now = time.time()
        window = f"{_PREFIX}:fail:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(window, "-inf", now - policy.window_seconds)
            pipe.zadd(window, {uuid.uuid4().hex: now})
            pipe.zrange(window, 0, -1, withscores=True)
            pipe.expire(window, policy.window_seconds)
            results = await pipe.execute()
        until = lockout.locked_until((score for _, score in results[2]), now, policy)
        if until is not None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(f"{_PREFIX}:lock:{key}", "1", px=int((until - now) * 1000))
                pipe.delete(window)
                await pipe.execute()

    async def clear(self, key: str) -> None:
        """A successful login forgets the account's earlier failures."""
        await self.redis.delete(f"{_PREFIX}:fail:{key}", f"{_PREFIX}:lock:{key}")

    async def allow_mail(self, email: str, window_seconds: int) -> bool:
        """At most `mail_quota` reset/verification mails per address and window (fixed window)."""
        key = f"{_PREFIX}:mail:{digest(email)[:32]}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count) <= self.mail_quota

    async def put_challenge(self, challenge: str, payload: dict[str, Any], ttl_seconds: int) -> None:
        await self.redis.set(f"{_PREFIX}:mfa:{digest(challenge)}", json.dumps(payload), ex=ttl_seconds)

    async def peek_challenge(self, challenge: str) -> dict[str, Any] | None:
        """Whose challenge it is, without spending it (a passkey's options come before its answer)."""
        raw = await self.redis.get(f"{_PREFIX}:mfa:{digest(challenge)}")
        return json.loads(raw) if raw else None

    async def take_challenge(self, challenge: str) -> dict[str, Any] | None:
        """Single use: reading the challenge deletes it, whether the code that follows is right or not."""
        raw = await self.redis.getdel(f"{_PREFIX}:mfa:{digest(challenge)}")
        return json.loads(raw) if raw else None
