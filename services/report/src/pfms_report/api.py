"""HTTP routes of the report service: every route acts on the reports of the caller's scope only — their
own, or with `X-Space-ID` the space's (members read; generating needs a role that may write).

Downloads stream the stored object through the service (rather than redirecting to a presigned
object-storage URL): the file stays behind the gateway's authentication, the object store never
has to be reachable by clients, and the answer is the same through Kong, compose or Kubernetes.
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from pfms_contracts.privacy import DataExportRequested
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import AppError, Conflict, Invalid
from pfms_platform.events.outbox import emit
from pfms_platform.spaces import HEADER, CurrentScope
from pfms_report import store
from pfms_report.domain import CONTENT_TYPES, ReportFormat, ReportType, Status
from pfms_report.schemas import GenerateReport, ReportOut
from pfms_report.settings import Settings
from pfms_report.storage import ObjectStore

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such report in the caller's scope, or a space the caller is not in"}
}
SPACE_TYPES = (ReportType.MONTHLY.value, ReportType.CUSTOM.value)
"""What a space's report can be: the others are one person's (tax, portfolio, the data export)."""


class Expired(AppError):
    status_code = 410
    code = "EXPIRED"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/generate", status_code=status.HTTP_202_ACCEPTED, response_model=Envelope[ReportOut])
async def generate(body: GenerateReport, scope: CurrentScope, session: Session, request: Request) -> dict[str, Any]:
    """Queue a report; poll `GET /api/v1/reports/{id}` (or wait for `report.completed`), then download.
    In a space: a monthly or custom report of the space's expenses and income (viewers may not generate)."""
    scope.require("write")
    if not scope.personal and body.type not in SPACE_TYPES:
        raise Invalid(f"A space has {' and '.join(SPACE_TYPES)} reports only", field="type")
    limit = _settings(request).max_open_per_user
    row = await store.create_from(session, scope.user_id, body, "user", limit, scope.space_id)
    return ok(store.out(row))


@router.post("/export", status_code=status.HTTP_202_ACCEPTED, response_model=Envelope[ReportOut])
async def export(scope: CurrentScope, session: Session, request: Request) -> dict[str, Any]:
    """Queue a zip of everything the fleet holds about the caller (one JSON file per service);
    `report.export_requested` puts the request in the caller's audit log (auth). Personal only."""
    if not scope.personal:
        raise Invalid("The data export is of your own data; send it without a space", field=HEADER)
    user = scope.user_id
    limit = _settings(request).max_open_per_user
    row = await store.create_job(session, user, ReportType.EXPORT, ReportFormat.ZIP, {}, "user", limit)
    await emit(session, DataExportRequested(user_id=user, report_id=row.id))
    return ok(store.out(row))


@router.get("", response_model=PageEnvelope[ReportOut])
async def list_reports(
    scope: CurrentScope,
    session: Session,
    params: Annotated[PageParams, Depends()],
    state: Annotated[
        Literal["pending", "processing", "completed", "failed", "expired"] | None, Query(alias="status")
    ] = None,
    kind: Annotated[Literal["monthly", "tax", "portfolio", "custom", "export"] | None, Query(alias="type")] = None,
) -> dict[str, Any]:
    """The scope's reports (the caller's own, or the space's), newest first."""
    rows, total = await store.page(session, scope, params.offset, params.limit, state, kind)
    now = datetime.now(UTC)
    return paged([store.out(r, now) for r in rows], params, total)


@router.get("/{report_id}", response_model=Envelope[ReportOut], responses=NOT_FOUND)
async def get_report(report_id: uuid.UUID, scope: CurrentScope, session: Session) -> dict[str, Any]:
    return ok(store.out(await store.owned(session, report_id, scope)))


FILE_MEDIA_TYPES: dict[str, Any] = {
    media.split(";")[0]: {} for media in [*CONTENT_TYPES.values(), "application/octet-stream"]
}
"""What a download may be: each format's type (a zip was undocumented until fuzzing found it), or
octet-stream for a file stored without one."""


@router.get(
    "/{report_id}/download",
    response_class=StreamingResponse,
    responses={
        **NOT_FOUND,
        200: {"description": "The file, in its format's media type", "content": FILE_MEDIA_TYPES},
        409: {"description": "Not ready (pending or processing) or failed"},
        410: {"description": "Expired: the file was removed"},
    },
)
async def download(report_id: uuid.UUID, scope: CurrentScope, session: Session, request: Request) -> StreamingResponse:
    row = await store.owned(session, report_id, scope)
    if row.status == Status.EXPIRED.value or (
        row.status == Status.COMPLETED.value and row.expires_at is not None and row.expires_at <= datetime.now(UTC)
    ):
        raise Expired("The report has expired; generate it again")
    if row.status != Status.COMPLETED.value or row.object_key is None:
        raise Conflict(f"The report is {row.status}, not ready to download", code="NOT_READY")
    objects: ObjectStore = request.app.state.store
    headers = {
        "Content-Disposition": f'attachment; filename="{row.file_name}"',
        "Cache-Control": "private, no-store",
    }
    if row.file_size is not None:
        headers["Content-Length"] = str(row.file_size)
    media = row.content_type or "application/octet-stream"
    return StreamingResponse(objects.stream(row.object_key), media_type=media, headers=headers)
