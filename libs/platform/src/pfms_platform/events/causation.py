"""Which events led to the one being handled: a chain every emitted event carries onwards.

The consumer sets the chain while a handler runs; `emit` stamps it on whatever the handler
publishes. A rule engine (or any consumer that reacts by publishing) reads `depth()` to stop a loop
of events causing each other, without any service having to pass the chain along by hand.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pfms_contracts import CloudEvent

_chain: ContextVar[tuple[str, ...]] = ContextVar("causation_chain", default=())


def chain() -> list[str]:
    """Ids of the events that led to the event being handled, oldest first, ending with its own id."""
    return list(_chain.get())


def depth() -> int:
    return len(_chain.get())


def stamp() -> str | None:
    """The value for an emitted event's `causationchain`, or None outside a handler."""
    ids = _chain.get()
    return " ".join(ids) if ids else None


def parse(event: CloudEvent) -> tuple[str, ...]:
    return (*(event.causationchain or "").split(), event.id)


@contextmanager
def handling(event: CloudEvent) -> Iterator[None]:
    """Everything emitted inside the block was caused by `event`."""
    token = _chain.set(parse(event))
    try:
        yield
    finally:
        _chain.reset(token)
