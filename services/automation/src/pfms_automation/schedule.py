"""Cron schedules read as wall-clock times in the user's time zone.

"0 9 * * *" in Europe/Berlin fires at 09:00 local every day, summer or winter. Across a change of
clocks each wall-clock time fires once: in the autumn hour that happens twice only its first
occurrence fires, and a time that does not exist in spring (02:30 on the change day) fires when the
clock reaches it after the jump (03:30 local, the same instant as 02:30 in the old offset).
"""

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterError, croniter

from pfms_automation.conditions import RuleError

_MAX_STEPS = 1000


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(name: str) -> bool:
    return name in _zones()


def zone(name: str, path: str = "timezone") -> ZoneInfo:
    if name not in _zones():
        raise RuleError(path, "must be an IANA time zone such as Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleError(path, "must be an IANA time zone such as Europe/Berlin") from exc


def check_cron(expression: str, path: str = "trigger.cron") -> str:
    """Five fields (minute hour day-of-month month weekday); no seconds, no years."""
    text = " ".join(expression.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise RuleError(path, "must be a five-field cron expression such as '0 9 * * *'")
    return text


def next_fire(expression: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first fire strictly after `after` (aware), as an aware UTC datetime."""
    local = after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)  # revisit a repeated hour
    it = croniter(expression, local)
    try:
        for _ in range(_MAX_STEPS):
            wall: datetime = it.get_next(datetime)
            instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
            if instant > after:
                return instant
    except CroniterError as exc:  # e.g. "0 0 31 2 *": 31 February never comes
        raise RuleError("trigger.cron", "never fires") from exc
    raise RuleError("trigger.cron", "never fires")


def fires_between(expression: str, tz: ZoneInfo, start: datetime, end: datetime, limit: int = 1000) -> list[datetime]:
    """Every fire in (start, end], oldest first (tests and previews)."""
    out: list[datetime] = []
    current = start
    while len(out) < limit:
        current = next_fire(expression, tz, current)
        if current > end:
            break
        out.append(current)
    return out
