"""Every event type the fleet knows, and the exchange each one travels on."""

from pfms_contracts.base import EventData
from pfms_contracts.identity import (
    EmailVerificationRequested,
    FamilyInvited,
    PasswordResetRequested,
    UserCreated,
    UserDeleted,
    UserUpdated,
)

EXCHANGES: dict[str, str] = {
    "user.events": "Identity lifecycle: registration, profile changes, deletion.",
    "financial.events": "Money movements: expenses, income, investments, loans, groups.",
    "notification.events": "Requests to reach a person, and their read receipts.",
    "analytics.events": "Derived facts: categorisation, insights, rule executions.",
}

_MODELS: list[type[EventData]] = [
    UserCreated,
    UserUpdated,
    UserDeleted,
    EmailVerificationRequested,
    PasswordResetRequested,
    FamilyInvited,
]

EVENTS: dict[str, type[EventData]] = {m.type: m for m in _MODELS}


def event_model(event_type: str) -> type[EventData]:
    return EVENTS[event_type]
