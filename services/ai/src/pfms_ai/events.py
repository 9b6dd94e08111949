"""Events the ai service consumes — none until its domain lands (its inbox will live in MongoDB)."""

from pfms_platform.events.consumer import Handler

HANDLERS: dict[str, Handler] = {}
