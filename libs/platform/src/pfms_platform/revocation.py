"""Deleted accounts are refused at once, not when their last access token expires.

An access token is self-contained: after `DELETE /api/v1/auth/account` it would stay valid at every
service (and at the gateway, which checks only signature and time) until it expires. Every service
already consumes `user.deleted`, so the consumer tells this list when it applies one: the subject is
refused in this process at once, and written to the service's Redis (a sorted set scored by when the
entry may be forgotten), which every replica reads back every `sync_seconds`. `current_claims`
refuses a listed subject with 401; that check is a dict lookup, no round trip per request.

Entries are kept for FORGET_AFTER_SECONDS, longer than any access token lives (auth's lifetime
setting is capped at an hour). When services share one Redis they share the list, which is right:
a deleted account is deleted everywhere.
"""

import asyncio
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserDeleted
from pfms_platform.logging import get_logger

log = get_logger(__name__)

KEY = "pfms:deleted-users"
FORGET_AFTER_SECONDS = 2 * 3600


class DeletedUsers:
    """The subjects of deleted accounts, in process and in Redis, each until its tokens are expired."""

    def __init__(
        self, redis: Redis, *, sync_seconds: float = 1.0, forget_after_seconds: int = FORGET_AFTER_SECONDS
    ) -> None:
        self.redis = redis
        self.sync_seconds = sync_seconds
        self.forget_after_seconds = forget_after_seconds
        self._until: dict[str, float] = {}
        self._unsaved: dict[str, float] = {}

    def __contains__(self, subject: object) -> bool:
        try:
            member = str(uuid.UUID(str(subject)))
        except ValueError:
            return False
        until = self._until.get(member)
        return until is not None and until > time.time()

    async def add(self, user_id: uuid.UUID) -> None:
        """Refuse `user_id` from now on; if Redis is away, the next sync writes it."""
        member = str(user_id)
        until = time.time() + self.forget_after_seconds
        self._until[member] = until
        self._unsaved[member] = until
        try:
            await self._save()
        except RedisError as exc:
            log.warning("deleted user not yet saved", user_id=member, error=str(exc)[:200])

    async def observe(self, event: CloudEvent) -> None:
        """A bus watcher of `user.deleted` (every service's consumer receives it): add its user."""
        await self.add(UserDeleted.model_validate(event.data).user_id)

    async def _save(self) -> None:
        unsaved, self._unsaved = self._unsaved, {}
        if not unsaved:
            return
        try:
            await self.redis.zadd(KEY, unsaved)
        except BaseException:
            self._unsaved = unsaved | self._unsaved
            raise

    async def sync(self) -> None:
        """Write what is not saved yet, forget what expired, and learn what other replicas added."""
        await self._save()
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(KEY, "-inf", now)
            pipe.zrangebyscore(KEY, now, "+inf", withscores=True)
            _, listed = await pipe.execute()
        known: dict[str, float] = {_text(member): float(score) for member, score in listed}
        self._until = known | self._unsaved

    async def run(self) -> None:
        """Sync forever (a lifespan task)."""
        while True:
            try:
                await self.sync()
            except (RedisError, OSError) as exc:  # Redis away: the in-process list still holds
                log.warning("deleted-users sync failed", error=str(exc)[:200])
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # the Redis client can swallow a cancel that lands mid-command; shutdown must still end the loop
                raise asyncio.CancelledError
            await asyncio.sleep(self.sync_seconds)


def _text(member: Any) -> str:
    return member.decode() if isinstance(member, bytes) else str(member)
