"""Single-use state in Redis with a deadline: OAuth states, pending provider links, passkey challenges.

Keys hold a digest of the handle the client carries, never the handle itself; taking a value deletes
it in the same command (GETDEL), so two requests racing with one handle cannot both get it.
"""

import json
from typing import Any

from redis.asyncio import Redis

from pfms_auth.tokens import digest, new_opaque_token

_PREFIX = "auth:once"


class OneShot:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def put(self, kind: str, payload: dict[str, Any], ttl_seconds: int, handle: str | None = None) -> str:
        """Keep `payload` under a new random handle (or `handle`) for `ttl_seconds`; returns the handle."""
        handle = handle or new_opaque_token()
        await self.redis.set(f"{_PREFIX}:{kind}:{digest(handle)}", json.dumps(payload), ex=ttl_seconds)
        return handle

    async def take(self, kind: str, handle: str) -> dict[str, Any] | None:
        """The payload, once: None when the handle is unknown, expired or already taken."""
        raw = await self.redis.getdel(f"{_PREFIX}:{kind}:{digest(handle)}")
        return json.loads(raw) if raw else None
