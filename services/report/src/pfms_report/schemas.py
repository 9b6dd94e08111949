"""Request and response models of the report service (the public contract)."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from pfms_platform.schemas import Body

ReportKind = Literal["monthly", "tax", "portfolio", "custom"]
FileFormat = Literal["pdf", "xlsx", "csv"]


class GenerateReport(Body):
    """monthly: year + month; custom: from + to; tax: year; portfolio: nothing else."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: ReportKind
    format: FileFormat
    year: int | None = Field(default=None, ge=1, le=9999)
    month: int | None = Field(default=None, ge=1, le=12)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")


class InternalGenerateReport(GenerateReport):
    """A service (tax) asking for a report on a user's behalf."""

    user_id: uuid.UUID


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    space_id: uuid.UUID | None = Field(default=None, description="The space whose data it covers; null: your own")
    type: str = Field(
        validation_alias=AliasChoices("report_type", "type"), description="monthly | tax | portfolio | custom | export"
    )
    format: str
    status: str = Field(description="pending | processing | completed | failed | expired")
    parameters: dict[str, Any]
    requested_by: str
    file_name: str
    file_size: int | None
    content_type: str | None
    error_message: str | None
    attempts: int
    generated_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    download_url: str | None = Field(default=None, description="Set once completed, until it expires")
