"""Events of the report service: a requested report is ready, or could not be made."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pfms_contracts.base import EventData


class _ReportEvent(EventData):
    exchange: ClassVar[str] = "notification.events"

    report_id: UUID
    report_type: str = Field(description="monthly | tax | portfolio | custom | export")
    format: str = Field(description="pdf | xlsx | csv | zip")
    space_id: UUID | None = Field(default=None, description="The space the report covers; None: the user's own.")


class ReportCompleted(_ReportEvent):
    type: ClassVar[str] = "report.completed"
    summary: ClassVar[str] = "A report the user asked for is ready to download until `expires_at`."
    size_bytes: int
    expires_at: datetime
    download_path: str = Field(description="Client path, e.g. /api/v1/reports/{id}/download")


class ReportFailed(_ReportEvent):
    type: ClassVar[str] = "report.failed"
    summary: ClassVar[str] = "A report could not be made; `reason` says why in words a person can read."
    reason: str
