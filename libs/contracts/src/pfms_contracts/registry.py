"""Every event type the fleet knows, and the exchange each one travels on.

Event models live in one module per domain (identity.py, expense.py, …); every concrete
`EventData` subclass in this package is registered by its `type`, so adding an event is adding
a class — and the AsyncAPI document and the broker topology follow from it.
"""

import importlib
import pkgutil

import pfms_contracts
from pfms_contracts.base import EventData

EXCHANGES: dict[str, str] = {
    "user.events": "Identity lifecycle: registration, profile changes, deletion.",
    "financial.events": "Money movements: expenses, income, investments, loans, groups.",
    "notification.events": "Requests to reach a person, and their read receipts.",
    "analytics.events": "Derived facts: categorisation, insights, rule executions.",
}

_INFRASTRUCTURE = {"asyncapi", "base", "registry"}


def _collect() -> dict[str, type[EventData]]:
    for module in pkgutil.iter_modules(pfms_contracts.__path__):
        if module.name not in _INFRASTRUCTURE:
            importlib.import_module(f"pfms_contracts.{module.name}")
    found: dict[str, type[EventData]] = {}
    pending = list(EventData.__subclasses__())
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        event_type = getattr(model, "type", None)
        if isinstance(event_type, str):
            if event_type in found and found[event_type] is not model:
                raise RuntimeError(f"event type {event_type} is defined twice")
            found[event_type] = model
    return dict(sorted(found.items()))


EVENTS: dict[str, type[EventData]] = _collect()


def event_model(event_type: str) -> type[EventData]:
    return EVENTS[event_type]
