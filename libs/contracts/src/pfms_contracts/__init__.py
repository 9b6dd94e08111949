"""Event contracts shared by producers and consumers."""

from pfms_contracts.base import CloudEvent, EventData
from pfms_contracts.registry import EVENTS, EXCHANGES, event_model

__all__ = ["EVENTS", "EXCHANGES", "CloudEvent", "EventData", "event_model"]
