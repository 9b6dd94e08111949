"""Events the automation service consumes: every event a rule can trigger on, and the user's lifecycle.

Each trigger event is remembered (its owner's last `history_per_user`, for `/test` and `/apply`) and
run through its owner's rules: an event about a shared space's object (it carries `space_id`) runs
that space's rules, whoever's event it is; any other runs the user's personal rules only. The
platform's consumer applies an event once (inbox) and tells the causation chain that led to it,
whose length is the loop guard.
"""

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_automation import schedule, scheduler, store
from pfms_automation.cache import RuleCache
from pfms_automation.engine import Incoming, run
from pfms_automation.rules import TRIGGER_EVENTS
from pfms_automation.settings import Settings
from pfms_contracts import EventData
from pfms_contracts.identity import UserDeleted, UserUpdated
from pfms_platform.events import causation
from pfms_platform.events.consumer import Handler
from pfms_platform.logging import get_logger
from pfms_platform.spaces import Scope, forget_member, space_handlers, space_of

log = get_logger(__name__)


class Runtime:
    """What one app's handlers need beyond the session: its settings and rule cache (made at startup)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.cache: RuleCache | None = None

    @property
    def rules(self) -> RuleCache:
        assert self.cache is not None, "the rule cache is created at startup"
        return self.cache


def space_event_key(event_type: str, payload: dict[str, Any]) -> str:
    """A space event's identity for its rules' runs: its type and data, not whose copy it is. A producer
    may send one copy per member (a space budget's `budget.threshold_reached`); the space's rules run
    once on them all, and the requests they make get the same ids whichever copy came first."""
    canonical = json.dumps([event_type, payload], sort_keys=True, separators=(",", ":"), default=str)
    return f"space:{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


async def on_trigger_event(runtime: Runtime, session: AsyncSession, data: EventData) -> None:
    chain = causation.chain()
    event_id = chain[-1] if chain else str(uuid.uuid4())
    payload: dict[str, Any] = data.model_dump(mode="json", exclude={"user_id"})
    settings = runtime.settings
    space = space_of(data)
    await store.remember(session, data.user_id, event_id, data.type, payload, settings.history_per_user, space)
    rules = await runtime.rules.rules(session, Scope(data.user_id, space, "owner"), data.type)
    if not rules:
        return
    today = store.event_date(payload, datetime.now(UTC).date())
    key = event_id if space is None else space_event_key(data.type, payload)
    incoming = Incoming(data.user_id, key, data.type, payload, today, depth=max(len(chain), 1), space_id=space)
    outcomes = await run(session, rules, incoming, settings.max_chain_depth)
    if outcomes:
        log.info("rules ran", type=data.type, event_id=event_id, rules=len(outcomes), depth=incoming.depth)


async def on_user_updated(runtime: Runtime, session: AsyncSession, data: UserUpdated) -> None:
    """A new time zone in the profile moves the user's schedules that follow it."""
    timezone = data.changes.get("timezone") if data.section == "profile" else None
    if isinstance(timezone, str) and schedule.known_zone(timezone):
        await store.set_timezone(session, data.user_id, timezone)
        await scheduler.reschedule_user(session, data.user_id, timezone)
    await on_trigger_event(runtime, session, data)


async def on_user_deleted(runtime: Runtime, session: AsyncSession, data: UserDeleted) -> None:
    """Every personal row of the person, the rules they made in spaces too, and their memberships; the
    space's remembered events, runs and jobs they were part of stay the space's."""
    spaces = await store.purge(session, data.user_id)
    await forget_member(session, data.user_id)
    await runtime.rules.forget(data.user_id)
    for space_id in spaces:
        await runtime.rules.forget_space(space_id)
    log.info("user data purged", user_id=str(data.user_id))


async def on_space_deleted(runtime: Runtime, session: AsyncSession, space_id: uuid.UUID) -> None:
    """A deleted space: its rules, runs, history and jobs go (the snapshot handler has dropped its members)."""
    await store.purge_space(session, space_id)
    await runtime.rules.forget_space(space_id)
    log.info("space rules purged", space_id=str(space_id))


def handlers(runtime: Runtime) -> dict[str, Handler]:
    def bind(handler: Any) -> Handler:
        async def handle(session: AsyncSession, data: Any) -> None:
            await handler(runtime, session, data)

        return handle

    out: dict[str, Handler] = {event_type: bind(on_trigger_event) for event_type in TRIGGER_EVENTS}
    out[UserUpdated.type] = bind(on_user_updated)
    out[UserDeleted.type] = bind(on_user_deleted)

    async def space_deleted(session: AsyncSession, space_id: uuid.UUID) -> None:
        await on_space_deleted(runtime, session, space_id)

    out.update(space_handlers(on_space_deleted=space_deleted))
    return out


HANDLERS: dict[str, Handler] = handlers(Runtime())
"""The event types this service consumes (the broker topology reads them); each app binds its own."""
