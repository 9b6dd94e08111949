"""Each user's enabled rules, compiled once and kept in memory until they change.

A per-user version number in Redis says when: every write to a user's rules bumps it after the
transaction commits, and every instance compares its copy's version (one Redis GET) before using
it. Bumping after the commit means a reload never caches rules older than the bump; should a
process die between commit and bump, entries also expire after `ttl_seconds`.
"""

import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation.models import AutomationRule
from pfms_automation.rules import CompiledRule, RuleSet

NO_RULES = RuleSet([])


def version_key(user_id: uuid.UUID) -> str:
    return f"automation:rules:version:{user_id}"


@dataclass
class _Entry:
    version: str
    loaded_at: float
    rules: dict[uuid.UUID, CompiledRule]
    by_trigger: dict[str, RuleSet]


class RuleCache:
    def __init__(self, redis: Redis, *, max_users: int = 10_000, ttl_seconds: float = 300.0) -> None:
        self.redis = redis
        self.max_users = max_users
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        self.loads = 0

    async def rules(self, session: AsyncSession, user_id: uuid.UUID, trigger: str) -> RuleSet:
        """The user's enabled rules on `trigger`, in run order."""
        version = str(await self.redis.get(version_key(user_id)) or "0")
        entry = self._entries.get(user_id)
        if entry is None or entry.version != version or time.monotonic() - entry.loaded_at > self.ttl_seconds:
            rules = await load(session, user_id, entry.rules if entry is not None else {})
            entry = _Entry(version, time.monotonic(), rules, group(rules.values()))
            self.loads += 1
            self._entries[user_id] = entry
            if len(self._entries) > self.max_users:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(user_id)
        return entry.by_trigger.get(trigger, NO_RULES)

    async def changed(self, user_id: uuid.UUID) -> None:
        """Call after the transaction that changed the user's rules has committed."""
        await self.redis.incr(version_key(user_id))

    async def forget(self, user_id: uuid.UUID) -> None:
        """A deleted account: no key may name the person any more. Dropping the version key reads as
        version 0 elsewhere, which differs from any version an instance cached rules under."""
        self._entries.pop(user_id, None)
        await self.redis.delete(version_key(user_id))


async def load(
    session: AsyncSession, user_id: uuid.UUID, previous: dict[uuid.UUID, CompiledRule]
) -> dict[uuid.UUID, CompiledRule]:
    """The user's enabled rules, compiling only those new or changed since `previous` (by updated_at).

    After one rule changes, a reload reads the ids and versions of all of them but the definition
    of that one only, and compiles that one only.
    """
    heads = (
        await session.execute(
            select(AutomationRule.id, AutomationRule.updated_at).where(
                AutomationRule.user_id == user_id, AutomationRule.enabled.is_(True)
            )
        )
    ).all()
    out = {
        rule_id: previous[rule_id]
        for rule_id, updated_at in heads
        if rule_id in previous and previous[rule_id].updated_at == updated_at
    }
    missing = [rule_id for rule_id, _ in heads if rule_id not in out]
    if missing:
        for row in await session.scalars(
            select(AutomationRule).where(AutomationRule.user_id == user_id, AutomationRule.id.in_(missing))
        ):
            out[row.id] = compiled(row)
    return out


def group(rules: Iterable[CompiledRule]) -> dict[str, RuleSet]:
    by_trigger: dict[str, list[CompiledRule]] = {}
    for rule in rules:
        by_trigger.setdefault(rule.trigger, []).append(rule)
    return {trigger: RuleSet(found) for trigger, found in by_trigger.items()}


def compiled(row: AutomationRule) -> CompiledRule:
    return CompiledRule.build(
        id=row.id,
        name=row.name,
        priority=row.priority,
        created_at=row.created_at,
        updated_at=row.updated_at,
        trigger=row.event_type or "schedule",
        conditions=row.conditions,
        actions=row.actions,
        stop_processing=row.stop_processing,
    )
