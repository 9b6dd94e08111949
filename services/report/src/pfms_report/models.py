"""Tables of the report service; the shared outbox and inbox come with the platform's Base."""

from pfms_platform.db import Base
from pfms_platform.events.tables import InboxEvent, OutboxEvent

__all__ = ["Base", "InboxEvent", "OutboxEvent"]
