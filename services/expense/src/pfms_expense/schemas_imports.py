"""Request and response models of the bulk import and the saved CSV mappings."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pfms_expense.imports.csv_format import CsvMapping


class MappingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    mapping: CsvMapping


class MappingOut(BaseModel):
    id: uuid.UUID
    name: str
    mapping: CsvMapping
    created_at: datetime
    updated_at: datetime


class ImportIssueOut(BaseModel):
    row: int = Field(description="1 is the first transaction of the file (a CSV header is not counted)")
    kind: Literal["error", "duplicate", "skipped"]
    reason: str


class ImportBatchOut(BaseModel):
    id: uuid.UUID
    filename: str
    format: str
    status: Literal["pending", "processing", "completed", "failed"]
    message: str | None = Field(description="Why a failed file changed nothing")
    total_rows: int
    successful_rows: int
    duplicate_rows: int
    failed_rows: int
    skipped_rows: int
    file_bytes: int
    processed_bytes: int
    progress_percent: int
    issues: list[ImportIssueOut] = Field(description="The first issues in row order; all of them at /issues")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
