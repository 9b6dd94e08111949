"""Each owner's enabled rules, compiled once and kept in memory until they change. An owner is a person
(their personal rules) or a shared space (its rules, whoever made them).

A per-owner version number in Redis says when: every write to an owner's rules bumps it after the
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
from pfms_platform.spaces import Scope

NO_RULES = RuleSet([])

Owner = tuple[str, uuid.UUID]
"""("user", id) for a person's personal rules, ("space", id) for a space's."""


def personal(who: uuid.UUID | Scope) -> Scope:
    """A scope as given, or a person's own (personal) scope for a bare user id."""
    return who if isinstance(who, Scope) else Scope(who, None, "owner")


def owner_of(scope: Scope) -> Owner:
    return ("user", scope.user_id) if scope.space_id is None else ("space", scope.space_id)


def version_key(user_id: uuid.UUID) -> str:
    return f"automation:rules:version:{user_id}"


def owner_key(owner: Owner) -> str:
    kind, owner_id = owner
    return version_key(owner_id) if kind == "user" else f"automation:rules:version:space:{owner_id}"


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
        self._entries: OrderedDict[Owner, _Entry] = OrderedDict()
        self.loads = 0

    async def rules(self, session: AsyncSession, who: uuid.UUID | Scope, trigger: str) -> RuleSet:
        """The enabled rules on `trigger` of a person (their personal ones) or a scope (a space's), in run order."""
        scope = personal(who)
        owner = owner_of(scope)
        version = str(await self.redis.get(owner_key(owner)) or "0")
        entry = self._entries.get(owner)
        if entry is None or entry.version != version or time.monotonic() - entry.loaded_at > self.ttl_seconds:
            rules = await load(session, scope, entry.rules if entry is not None else {})
            entry = _Entry(version, time.monotonic(), rules, group(rules.values()))
            self.loads += 1
            self._entries[owner] = entry
            if len(self._entries) > self.max_users:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(owner)
        return entry.by_trigger.get(trigger, NO_RULES)

    async def changed(self, who: uuid.UUID | Scope) -> None:
        """Call after the transaction that changed the person's (or the scope's) rules has committed."""
        await self.redis.incr(owner_key(owner_of(personal(who))))

    async def forget(self, user_id: uuid.UUID) -> None:
        """A deleted account: no key may name the person any more. Dropping the version key reads as
        version 0 elsewhere, which differs from any version an instance cached rules under."""
        self._entries.pop(("user", user_id), None)
        await self.redis.delete(version_key(user_id))

    async def forget_space(self, space_id: uuid.UUID) -> None:
        """A deleted space (or rules of a space a deleted person made): reload them on next use."""
        self._entries.pop(("space", space_id), None)
        await self.redis.incr(owner_key(("space", space_id)))


async def load(
    session: AsyncSession, who: uuid.UUID | Scope, previous: dict[uuid.UUID, CompiledRule]
) -> dict[uuid.UUID, CompiledRule]:
    """The person's (or the scope's) enabled rules, compiling only those new or changed since `previous`
    (by updated_at).

    After one rule changes, a reload reads the ids and versions of all of them but the definition
    of that one only, and compiles that one only.
    """
    scope = personal(who)
    heads = (
        await session.execute(
            select(AutomationRule.id, AutomationRule.updated_at).where(
                scope.owns(AutomationRule), AutomationRule.enabled.is_(True)
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
            select(AutomationRule).where(scope.owns(AutomationRule), AutomationRule.id.in_(missing))
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
