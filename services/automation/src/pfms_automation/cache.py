"""Each user's enabled rules, compiled once and kept in memory until they change.

A per-user version number in Redis says when: every write to a user's rules bumps it after the
transaction commits, and every instance compares its copy's version (one Redis GET) before using
it. Bumping after the commit means a reload never caches rules older than the bump; should a
process die between commit and bump, entries also expire after `ttl_seconds`.
"""

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation.models import AutomationRule
from pfms_automation.rules import CompiledRule, order


def version_key(user_id: uuid.UUID) -> str:
    return f"automation:rules:version:{user_id}"


@dataclass
class _Entry:
    version: str
    loaded_at: float
    by_trigger: dict[str, list[CompiledRule]]


class RuleCache:
    def __init__(self, redis: Redis, *, max_users: int = 10_000, ttl_seconds: float = 300.0) -> None:
        self.redis = redis
        self.max_users = max_users
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        self.loads = 0

    async def rules(self, session: AsyncSession, user_id: uuid.UUID, trigger: str) -> list[CompiledRule]:
        """The user's enabled rules on `trigger`, in run order."""
        version = str(await self.redis.get(version_key(user_id)) or "0")
        entry = self._entries.get(user_id)
        if entry is None or entry.version != version or time.monotonic() - entry.loaded_at > self.ttl_seconds:
            entry = _Entry(version, time.monotonic(), await load(session, user_id))
            self.loads += 1
            self._entries[user_id] = entry
            if len(self._entries) > self.max_users:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(user_id)
        return entry.by_trigger.get(trigger, [])

    async def changed(self, user_id: uuid.UUID) -> None:
        """Call after the transaction that changed the user's rules has committed."""
        self._entries.pop(user_id, None)
        await self.redis.incr(version_key(user_id))

    def forget(self, user_id: uuid.UUID) -> None:
        self._entries.pop(user_id, None)


async def load(session: AsyncSession, user_id: uuid.UUID) -> dict[str, list[CompiledRule]]:
    rows = await session.scalars(
        select(AutomationRule).where(AutomationRule.user_id == user_id, AutomationRule.enabled.is_(True))
    )
    by_trigger: dict[str, list[CompiledRule]] = {}
    for row in rows:
        rule = compiled(row)
        by_trigger.setdefault(rule.trigger, []).append(rule)
    return {trigger: order(rules) for trigger, rules in by_trigger.items()}


def compiled(row: AutomationRule) -> CompiledRule:
    return CompiledRule.build(
        id=row.id,
        name=row.name,
        priority=row.priority,
        created_at=row.created_at,
        trigger=row.event_type or "schedule",
        conditions=row.conditions,
        actions=row.actions,
        stop_processing=row.stop_processing,
    )
