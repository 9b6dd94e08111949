"""The report worker: background loops in every instance that turn pending jobs into files.

A job is claimed in a short transaction (`FOR UPDATE SKIP LOCKED`, so two instances never take the
same one): it becomes `processing` with a lease and one more attempt. The data is then gathered and
rendered outside any transaction, the file is written to object storage under the job's own key,
and a second short transaction completes the job and emits `report.completed` (or marks it failed
and emits `report.failed`). The lease is renewed while the job runs; if an instance dies mid-way,
the lease runs out and another instance resumes the job from the start (the object key is the
same, so the file is simply overwritten). A job whose upstream (or the object store) is unavailable
goes back to `pending` with a doubling back-off, and fails once `max_attempts` are used up.
Completion is fenced on the attempt number: a worker whose lease was taken over cannot overwrite
the job's state."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.report import ReportCompleted, ReportFailed
from pfms_platform.db import Database
from pfms_platform.errors import NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.internal import UpstreamUnavailable
from pfms_platform.logging import get_logger
from pfms_report import archive, builders, domain
from pfms_report.domain import CONTENT_TYPES, ReportFormat, ReportType, Status
from pfms_report.models import Report, SpaceEntry
from pfms_report.render import render
from pfms_report.settings import Settings
from pfms_report.sources import Sources
from pfms_report.storage import ObjectStore

log = get_logger(__name__)


class ReportError(Exception):
    """The report cannot be made as asked; the message is shown to the user."""


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    user_id: uuid.UUID
    report_type: ReportType
    format: ReportFormat
    parameters: dict[str, Any]
    attempt: int
    space_id: uuid.UUID | None = None


def download_path(report_id: uuid.UUID) -> str:
    return f"/api/v1/reports/{report_id}/download"


class Worker:
    def __init__(self, db: Database, store: ObjectStore, sources: Sources, settings: Settings) -> None:
        self.db = db
        self.store = store
        self.sources = sources
        self.settings = settings

    async def claim(self) -> Job | bool:
        """Take the next job due and return it; True if the one found had to be failed instead (out of
        attempts: it keeps killing its worker or finding upstreams down); False if nothing is due."""
        now = datetime.now(UTC)
        async with self.db.sessions() as session, session.begin():
            row = await session.scalar(
                select(Report)
                .where(
                    Report.status.in_([Status.PENDING.value, Status.PROCESSING.value]),
                    or_(
                        and_(Report.status == Status.PENDING.value, Report.run_after <= now),
                        and_(Report.status == Status.PROCESSING.value, Report.lease_until < now),
                    ),
                )
                .order_by(Report.run_after)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return False
            job = Job(
                row.id,
                row.user_id,
                ReportType(row.report_type),
                ReportFormat(row.format),
                dict(row.parameters),
                row.attempts + 1,
                row.space_id,
            )
            if row.attempts >= self.settings.max_attempts:
                await _mark_failed(session, row, job, f"gave up after {row.attempts} attempts")
                return True
            row.status = Status.PROCESSING.value
            row.attempts = job.attempt
            row.lease_until = now + timedelta(seconds=self.settings.lease_seconds)
            return job

    async def step(self) -> bool:
        """Run one job if one is due; False when there was nothing to do."""
        job = await self.claim()
        if isinstance(job, Job):
            await self.run(job)
            return True
        return job

    async def run(self, job: Job) -> None:
        key = domain.object_key(job.user_id, job.id, job.format)
        heartbeat = asyncio.create_task(self._keep_lease(job), name=f"lease-{job.id}")
        try:
            body = await self.make_file(job)
            await self.store.put(key, body, CONTENT_TYPES[job.format])
        except (UpstreamUnavailable, BotoCoreError, ClientError) as exc:
            what = exc.message if isinstance(exc, UpstreamUnavailable) else "object storage is unavailable"
            if job.attempt >= self.settings.max_attempts:
                await self._fail(job, f"a service the report needs is unavailable: {what}")
            else:
                await self._retry(job, f"{what}: {exc}")
            return
        except (ReportError, NotFound) as exc:
            await self._fail(job, str(exc))
            return
        except Exception as exc:
            log.error("report failed", report_id=str(job.id), error=repr(exc)[:300])
            await self._fail(job, "the report could not be produced")
            return
        finally:
            heartbeat.cancel()
        await self._complete(job, key, len(body))

    async def _keep_lease(self, job: Job) -> None:
        """Renew the lease every third of its length while the job runs, so a long job (a large data
        export) is not taken for a dead worker's; only a worker that stops renewing loses it."""
        seconds = self.settings.lease_seconds
        while True:
            await asyncio.sleep(seconds / 3)
            try:
                async with self.db.sessions() as session, session.begin():
                    await session.execute(
                        update(Report)
                        .where(
                            Report.id == job.id,
                            Report.attempts == job.attempt,
                            Report.status == Status.PROCESSING.value,
                        )
                        .values(lease_until=datetime.now(UTC) + timedelta(seconds=seconds))
                    )
            except Exception as exc:  # a missed renewal is retried at the next beat
                log.warning("lease renewal failed", report_id=str(job.id), error=repr(exc)[:200])

    async def make_file(self, job: Job) -> bytes:
        user = job.user_id
        if job.report_type is ReportType.EXPORT:
            return await self._export(user)
        if job.report_type is ReportType.PORTFOLIO:
            doc = builders.portfolio(datetime.now(UTC).date(), await self.sources.tables("investment", user))
        elif job.report_type is ReportType.TAX:
            year = int(job.parameters["year"])
            try:
                calculation = await self.sources.tax_calculation(user, year)
            except NotFound as exc:
                raise ReportError(f"no tax calculation for {year}: {exc.message}") from exc
            doc = builders.tax(year, calculation)
        else:
            period = domain.period_of(job.report_type, job.parameters)
            assert period is not None
            title = "Monthly report" if job.report_type is ReportType.MONTHLY else "Income and expenses"
            if job.space_id is not None:
                spent, earned = await self._space_entries(job.space_id, period[0], period[1])
                doc = builders.cash_flow_of(title, period[0], period[1], spent, earned)
            else:
                expense, income = await asyncio.gather(
                    self.sources.tables("expense", user), self.sources.tables("income", user)
                )
                doc = builders.cash_flow(title, period[0], period[1], expense, income)
        return await asyncio.to_thread(render, doc, job.format)

    async def _space_entries(
        self, space_id: uuid.UUID, start: date, end: date
    ) -> tuple[list[domain.Entry], list[domain.Entry]]:
        """The space's expenses and income dated within [start, end], from the events this service kept."""
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(SpaceEntry).where(SpaceEntry.space_id == space_id, SpaceEntry.day.between(start, end))
            )
            entries = [(r.kind, domain.Entry(r.day, r.amount, r.currency, r.label)) for r in rows]
        return [e for kind, e in entries if kind == "expense"], [e for kind, e in entries if kind == "income"]

    async def _export(self, user: uuid.UUID) -> bytes:
        """Every listed service's export; a service without the route is named in the manifest."""
        names = list(self.settings.export_services)
        results = await asyncio.gather(*(self.sources.export(n, user) for n in names), return_exceptions=True)
        answers: dict[str, Any] = {}
        missing: dict[str, str] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, NotFound):
                missing[name] = "the service has no data export"
            elif isinstance(result, BaseException):
                raise result
            else:
                answers[name] = result
        made_at = datetime.now(UTC)
        return await asyncio.to_thread(archive.build_zip, str(user), made_at, answers, missing)

    async def _owned(self, session: AsyncSession, job: Job) -> Report | None:
        """The job's row if this worker still holds it (same attempt, still processing)."""
        row = await session.get(Report, job.id, with_for_update=True)
        if row is None or row.status != Status.PROCESSING.value or row.attempts != job.attempt:
            return None
        return row

    async def _complete(self, job: Job, key: str, size: int) -> None:
        now = datetime.now(UTC)
        async with self.db.sessions() as session, session.begin():
            row = await self._owned(session, job)
            if row is None:
                if await session.get(Report, job.id) is None:  # the user was deleted meanwhile
                    await self.store.delete(key)
                return
            row.status = Status.COMPLETED.value
            row.object_key = key
            row.content_type = CONTENT_TYPES[job.format]
            row.file_size = size
            row.generated_at = now
            row.expires_at = domain.expiry(now, self.settings.report_ttl_hours)
            row.lease_until = None
            row.error_message = None
            await emit(
                session,
                ReportCompleted(
                    user_id=job.user_id,
                    report_id=job.id,
                    report_type=job.report_type.value,
                    format=job.format.value,
                    size_bytes=size,
                    expires_at=row.expires_at,
                    download_path=download_path(job.id),
                    space_id=job.space_id,
                ),
            )
        log.info("report completed", report_id=str(job.id), size=size)

    async def _retry(self, job: Job, reason: str) -> None:
        delay = domain.retry_delay(job.attempt, self.settings.retry_base_seconds)
        async with self.db.sessions() as session, session.begin():
            row = await self._owned(session, job)
            if row is None:
                return
            row.status = Status.PENDING.value
            row.run_after = datetime.now(UTC) + delay
            row.lease_until = None
            row.error_message = reason[:500]
        log.warning("report postponed", report_id=str(job.id), attempt=job.attempt, reason=reason[:200])

    async def _fail(self, job: Job, reason: str) -> None:
        async with self.db.sessions() as session, session.begin():
            row = await self._owned(session, job)
            if row is not None:
                await _mark_failed(session, row, job, reason)
        log.warning("report failed", report_id=str(job.id), reason=reason[:200])


async def _mark_failed(session: AsyncSession, row: Report, job: Job, reason: str) -> None:
    row.status = Status.FAILED.value
    row.error_message = reason[:500]
    row.lease_until = None
    await emit(
        session,
        ReportFailed(
            user_id=job.user_id,
            report_id=job.id,
            report_type=job.report_type.value,
            format=job.format.value,
            reason=reason[:500],
            space_id=job.space_id,
        ),
    )


async def run(app: FastAPI) -> None:
    """Background loop: work while there is work, otherwise look again every `poll_seconds`."""
    worker: Worker = app.state.worker
    settings: Settings = app.state.settings
    while True:
        try:
            busy = await worker.step()
        except Exception as exc:  # a database blip must not end the loop
            log.error("report worker step failed", error=repr(exc)[:300])
            busy = False
        if not busy:
            await asyncio.sleep(settings.poll_seconds)
