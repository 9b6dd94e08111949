"""Privacy events: a person asked for a copy of their data (the auth service keeps it in their audit log)."""

from typing import ClassVar
from uuid import UUID

from pfms_contracts.base import EventData


class DataExportRequested(EventData):
    type: ClassVar[str] = "report.export_requested"
    exchange: ClassVar[str] = "user.events"
    summary: ClassVar[str] = "The person asked for their GDPR data export; auth records it in their audit log."
    report_id: UUID
