"""Pure rules of delivery: which channels a person gets, when (quiet hours, digest), retries, templates.

No I/O here, and the clock is always passed in, so every rule is tested across time zones and DST.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import ChainableUndefined, Template
from jinja2.sandbox import SandboxedEnvironment


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    PUSH = "push"
    SMS = "sms"


class Category(StrEnum):
    EXPENSE = "expense"
    INCOME = "income"
    INVESTMENT = "investment"
    LOAN = "loan"
    GROUP = "group"
    TAX = "tax"
    SAVINGS = "savings"
    SECURITY = "security"
    SYSTEM = "system"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


SENT_CHANNELS = (Channel.EMAIL, Channel.PUSH, Channel.SMS)
"""Channels that leave the service and so get a delivery row (in-app is the stored notification itself)."""

# The user service's defaults (pfms_user.domain._DEFAULT_ON): a switch nobody flipped means this.
_DEFAULT_ON: dict[Channel, frozenset[Category]] = {
    Channel.IN_APP: frozenset(Category),
    Channel.PUSH: frozenset(Category) - {Category.SYSTEM},
    Channel.EMAIL: frozenset({Category.SECURITY, Category.SYSTEM, Category.TAX, Category.LOAN}),
    Channel.SMS: frozenset({Category.SECURITY}),
}


def enabled(channel: Channel, category: str, overrides: dict[tuple[str, str], bool]) -> bool:
    """The person's switch for (channel, category); the fleet default when they never flipped it."""
    flipped = overrides.get((channel.value, category))
    if flipped is not None:
        return flipped
    return category in _DEFAULT_ON[channel]


@dataclass(frozen=True)
class Intent:
    """What to tell whom, before preferences and templates apply (built from an event)."""

    user_id: uuid.UUID
    category: str
    key: str
    title: str = ""
    message: str = ""
    """Empty title and message: the template for `key` writes them (only `notification.requested` brings its own)."""
    priority: Priority = Priority.NORMAL
    reference_type: str | None = None
    reference_id: uuid.UUID | None = None
    action_url: str | None = None
    dedupe_key: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    email_to: str | None = None
    """Transactional mail (verify address, reset password, invitation): sent to this address whatever
    the switches, and not shown in any inbox."""


@dataclass(frozen=True)
class Recipient:
    email: str | None = None
    phone: str | None = None
    timezone: str = "UTC"
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: bool = False


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(now: datetime, recipient: Recipient) -> datetime | None:
    """When the person's quiet hours end (UTC), if `now` falls inside them; None outside them.

    Quiet hours are wall-clock times in the person's zone and may span midnight (22:00-07:00); the
    end is computed on the local calendar, so a DST change that night moves it correctly.
    """
    start, end = recipient.quiet_start, recipient.quiet_end
    if start is None or end is None or start == end:
        return None
    tz = zone(recipient.timezone)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC)


def schedule(now: datetime, recipient: Recipient, priority: Priority) -> tuple[str, datetime]:
    """(status, when) of a new email/push/SMS delivery.

    High priority goes at once. Inside quiet hours the delivery waits for their end, except that a
    low-priority item of someone who chose the digest waits for the daily digest mail instead.
    """
    if priority == Priority.HIGH:
        return "pending", now
    until = quiet_until(now, recipient)
    if until is None:
        return "pending", now
    if recipient.digest and priority == Priority.LOW:
        return "digest", until
    return "pending", until


def digest_due(now: datetime, recipient: Recipient, last_sent_on: Any, hour: int) -> bool:
    """The daily digest goes once a local day, at `hour` local time or later, outside quiet hours."""
    local = now.astimezone(zone(recipient.timezone))
    if last_sent_on is not None and last_sent_on >= local.date():
        return False
    return local.hour >= hour and quiet_until(now, recipient) is None


def retry_delay(attempt: int, base_seconds: float, cap_seconds: float = 3600.0) -> timedelta:
    """Exponential backoff after the `attempt`-th failure (1-based): base, 2·base, 4·base … capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempt - 1, 0), cap_seconds))


def after_failure(attempts: int, max_attempts: int, now: datetime, base_seconds: float) -> tuple[str, datetime]:
    """Status and next try after a failed attempt: `failed` (or parked) once the last try is used."""
    if attempts >= max_attempts:
        return "failed", now
    return "pending", now + retry_delay(attempts, base_seconds)


_env = SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=False)


def set_app_url(url: str) -> None:
    """Links in templates (`{{ app_url }}/...`) point at the client this deployment serves."""
    _env.globals["app_url"] = url.rstrip("/")


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """Compiling costs about a millisecond; a fan-out renders the same few sources thousands of times."""
    return _env.from_string(source)


def render(source: str, variables: dict[str, Any]) -> str:
    """Render a stored template in Jinja2's sandbox (no attribute tricks reach Python internals)."""
    return _compiled(source).render(**variables).strip()


def template_vars(intent: Intent) -> dict[str, Any]:
    return {
        "title": intent.title,
        "message": intent.message,
        "category": intent.category,
        "priority": intent.priority.value,
        "action_url": intent.action_url,
        "data": intent.data,
        **intent.data,
    }
