"""Events the accounts service consumes (by type) — none until its domain lands."""

from pfms_platform.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
