"""Queries the routes share: create a job, find a job of the caller's scope, list the scope's jobs."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.errors import NotFound, TooManyRequests
from pfms_platform.spaces import Scope
from pfms_report import domain
from pfms_report.domain import ReportFormat, ReportType, Status
from pfms_report.models import Report
from pfms_report.schemas import GenerateReport, ReportOut

MISSING = "Report not found"


async def create_job(
    session: AsyncSession,
    user_id: uuid.UUID,
    report_type: ReportType,
    fmt: ReportFormat,
    parameters: dict[str, Any],
    requested_by: str,
    max_open: int,
    space_id: uuid.UUID | None = None,
) -> Report:
    """A pending job the worker will pick up; a user has at most `max_open` jobs waiting or running
    (in all their spaces together). `space_id`: the space whose data it covers."""
    open_jobs = await session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.user_id == user_id, Report.status.in_([Status.PENDING.value, Status.PROCESSING.value]))
    )
    if (open_jobs or 0) >= max_open:
        raise TooManyRequests(f"at most {max_open} reports may be waiting at once; try again when one is done")
    row = Report(
        id=uuid.uuid4(),
        user_id=user_id,
        space_id=space_id,
        report_type=report_type.value,
        format=fmt.value,
        parameters=parameters,
        requested_by=requested_by,
        status=Status.PENDING.value,
        attempts=0,
        run_after=datetime.now(UTC),
        file_name=domain.file_name(report_type, fmt, parameters),
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def create_from(
    session: AsyncSession,
    user_id: uuid.UUID,
    body: GenerateReport,
    requested_by: str,
    max_open: int,
    space_id: uuid.UUID | None = None,
) -> Report:
    report_type = ReportType(body.type)
    parameters = domain.job_parameters(
        report_type, datetime.now(UTC).date(), year=body.year, month=body.month, start=body.start, end=body.end
    )
    fmt = ReportFormat(body.format)
    return await create_job(session, user_id, report_type, fmt, parameters, requested_by, max_open, space_id)


async def owned(session: AsyncSession, report_id: uuid.UUID, scope: Scope) -> Report:
    """A report of the scope (the caller's personal ones, or the space's); anyone else's, or another
    space's, is a 404, exactly like one that does not exist."""
    row = await session.scalar(select(Report).where(Report.id == report_id, scope.owns(Report)))
    if row is None:
        raise NotFound(MISSING)
    return row


async def page(
    session: AsyncSession, scope: Scope, offset: int, limit: int, status: str | None, kind: str | None
) -> tuple[list[Report], int]:
    where = [scope.owns(Report)]
    if status:
        where.append(Report.status == status)
    if kind:
        where.append(Report.report_type == kind)
    total = await session.scalar(select(func.count()).select_from(Report).where(*where))
    rows = await session.scalars(
        select(Report).where(*where).order_by(Report.created_at.desc(), Report.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total or 0


def out(row: Report, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    view = ReportOut.model_validate(row)
    downloadable = row.status == Status.COMPLETED.value and row.expires_at is not None and row.expires_at > now
    view.download_url = f"/api/v1/reports/{row.id}/download" if downloadable else None
    return view.model_dump(mode="json")
