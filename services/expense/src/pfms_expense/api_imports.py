"""Bulk import routes: the upload (202 and a batch id), the batch's report, and saved CSV mappings.

The upload is streamed to a temporary file (hashed on the way); the job then runs in the
background on this instance and the batch shows its progress and, at the end, its exact report.
"""

import asyncio
import hashlib
import json
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile, status
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_expense import store
from pfms_expense.imports import csv_format, job
from pfms_expense.imports.csv_format import CsvMapping
from pfms_expense.imports.rows import ImportFormat
from pfms_expense.models import ImportBatch, ImportIssue, ImportMapping
from pfms_expense.schemas_imports import ImportBatchOut, ImportIssueOut, MappingCreate, MappingOut
from pfms_finance.currency import normalise_currency
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import AppError, Conflict, Invalid, validation_details
from pfms_platform.security import CurrentUser

router = APIRouter(prefix="/api/v1/expenses", tags=["imports"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such import batch (or mapping) of the caller"}}
EXTENSIONS = {
    ".csv": ImportFormat.CSV,
    ".ofx": ImportFormat.OFX,
    ".qfx": ImportFormat.OFX,
    ".qif": ImportFormat.QIF,
    ".xml": ImportFormat.CAMT053,
}
SHOWN_ISSUES = 100
COPY_CHUNK = 1 << 20


class TooLarge(AppError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


def _format(given: str | None, filename: str) -> ImportFormat:
    if given:
        try:
            return ImportFormat(given.lower())
        except ValueError:
            raise Invalid(f"format must be one of {', '.join(f.value for f in ImportFormat)}", field="format") from None
    found = EXTENSIONS.get(Path(filename).suffix.lower())
    if found is None:
        raise Invalid("Say the format: the file name does not tell it", field="format")
    return found


async def _mapping(
    session: AsyncSession, user: uuid.UUID, given: str | None, mapping_id: uuid.UUID | None
) -> CsvMapping:
    if given is not None:
        try:
            return CsvMapping.model_validate(json.loads(given))
        except json.JSONDecodeError:
            raise Invalid("mapping is not valid JSON", field="mapping") from None
        except ValidationError as exc:
            details = [
                {**d, "field": "mapping" if d["field"] == "body" else f"mapping.{d['field']}"}
                for d in validation_details(list(exc.errors()))
            ]
            raise Invalid(f"Invalid value for '{details[0]['field']}'", details=details) from None
    if mapping_id is None:
        raise Invalid("A CSV import needs a column mapping (mapping or mapping_id)", field="mapping")
    saved = await session.scalar(
        select(ImportMapping).where(ImportMapping.id == mapping_id, ImportMapping.user_id == user)
    )
    if saved is None:
        raise Invalid("Unknown mapping", field="mapping_id")
    return CsvMapping.model_validate(saved.mapping)


def _write(out: Any, chunk: bytes) -> None:
    out.write(chunk)


async def _store_upload(upload: UploadFile, folder: str | None, limit: int) -> tuple[Path, str, int]:
    """Copy the upload to our own file in 1 MB steps (never whole in memory), hashing it."""
    digest = hashlib.sha256()
    size = 0
    out = await asyncio.to_thread(tempfile.NamedTemporaryFile, prefix="pfms-import-", dir=folder, delete=False)
    path = Path(out.name)
    try:
        with out:
            while chunk := await upload.read(COPY_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"The file is larger than {limit // (1024 * 1024)} MB", field="file")
                digest.update(chunk)
                await asyncio.to_thread(_write, out, chunk)
        if size == 0:
            raise Invalid("The file is empty", field="file")
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def _sniff(path: Path, mapping: CsvMapping) -> str:
    with path.open("rb") as f:
        return mapping.delimiter or csv_format.sniff_delimiter(f.read(csv_format.SNIFF_BYTES), mapping)


async def _start(request: Request, batch_id: uuid.UUID, path: Path) -> None:
    """Run the job detached from the request; shutdown cancels it (and it reports itself failed)."""
    app = request.app
    chunk_rows = app.state.settings.import_chunk_rows
    task = asyncio.create_task(job.run(app.state.db, app.state.fx, batch_id, path, chunk_rows))
    app.state.import_jobs.add(task)
    task.add_done_callback(app.state.import_jobs.discard)


async def _batch_view(session: AsyncSession, row: ImportBatch) -> dict[str, Any]:
    issues = await session.scalars(
        select(ImportIssue).where(ImportIssue.batch_id == row.id).order_by(ImportIssue.row_number).limit(SHOWN_ISSUES)
    )
    percent = (
        100 if row.status in ("completed", "failed") else min(99, row.processed_bytes * 100 // max(row.file_bytes, 1))
    )
    return ImportBatchOut(
        **{k: getattr(row, k) for k in ImportBatchOut.model_fields if hasattr(row, k) and k != "issues"},
        progress_percent=percent,
        issues=[ImportIssueOut(row=i.row_number, kind=i.kind, reason=i.reason) for i in issues],
    ).model_dump(mode="json")


@router.post(
    "/bulk-import",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[ImportBatchOut],
    responses={413: {"description": "File over the size limit"}},
)
async def bulk_import(
    request: Request,
    background: BackgroundTasks,
    user: CurrentUser,
    session: Session,
    file: Annotated[UploadFile, File(description="CSV, OFX/QFX, QIF or CAMT.053 XML")],
    format: Annotated[str | None, Form(description="csv | ofx | qif | camt053; default from the file name")] = None,
    mapping: Annotated[str | None, Form(description="CSV column mapping as JSON (see CsvMapping)")] = None,
    mapping_id: Annotated[uuid.UUID | None, Form(description="A saved mapping instead")] = None,
    save_mapping_as: Annotated[str | None, Form(min_length=1, max_length=100)] = None,
    currency: Annotated[str | None, Form(description="For rows without one; default: profile currency")] = None,
    account: Annotated[str, Form(max_length=100, description="Label of the account the file is from")] = "",
    day_first: Annotated[bool, Form(description="QIF dates are day/month")] = False,
    encoding: Annotated[str, Form(pattern="^(utf-8|latin-1|cp1252)$", description="QIF text encoding")] = "utf-8",
) -> dict[str, Any]:
    """Accept a file and start its import job; poll `GET /api/v1/expenses/imports/{id}` for the report."""
    filename = (file.filename or "upload")[:255]
    kind = _format(format, filename)
    try:
        default_currency = normalise_currency(currency) if currency else await store.user_currency(session, user)
    except ValueError as exc:
        raise Invalid(str(exc), field="currency") from None
    options: dict[str, Any] = {
        "format": kind.value,
        "currency": default_currency,
        "day_first": day_first,
        "encoding": encoding,
    }
    csv_mapping = await _mapping(session, user, mapping, mapping_id) if kind is ImportFormat.CSV else None
    settings = request.app.state.settings
    path, sha256, size = await _store_upload(file, settings.import_dir, settings.import_max_bytes)
    try:
        if csv_mapping is not None:
            options["mapping"] = csv_mapping.model_dump(mode="json")
            options["delimiter"] = await asyncio.to_thread(_sniff, path, csv_mapping)
            if save_mapping_as:
                await _save_mapping(session, user, save_mapping_as, csv_mapping)
        row = ImportBatch(
            id=uuid.uuid4(),
            user_id=user,
            filename=filename,
            format=kind.value,
            file_sha256=sha256,
            file_bytes=size,
            status="pending",
            options={**options, "account": account},
        )
        session.add(row)
        await session.flush()
        await session.refresh(row)
        shown = await _batch_view(session, row)
    except BaseException:
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
    # After the response, so after the Session dependency has committed the batch the job will read.
    background.add_task(_start, request, row.id, path)
    return ok(shown)


@router.get("/imports", response_model=PageEnvelope[ImportBatchOut])
async def list_imports(user: CurrentUser, session: Session, page: Annotated[PageParams, Query()]) -> dict[str, Any]:
    total = await session.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.user_id == user)) or 0
    rows = await session.scalars(
        select(ImportBatch)
        .where(ImportBatch.user_id == user)
        .order_by(ImportBatch.created_at.desc(), ImportBatch.id)
        .offset(page.offset)
        .limit(page.limit)
    )
    return paged([await _batch_view(session, r) for r in rows.all()], page, total)


@router.get("/imports/{batch_id}", response_model=Envelope[ImportBatchOut], responses=NOT_FOUND)
async def get_import(batch_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Status, progress and counts; once `completed` the counts and issues are exact."""
    return ok(await _batch_view(session, await store.owned(session, ImportBatch, batch_id, user)))


@router.get("/imports/{batch_id}/issues", response_model=PageEnvelope[ImportIssueOut], responses=NOT_FOUND)
async def list_issues(
    batch_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    page: Annotated[PageParams, Query()],
    kind: Annotated[str | None, Query(pattern="^(error|duplicate|skipped)$")] = None,
) -> dict[str, Any]:
    """Every row not imported, in row order, with its reason."""
    batch = await store.owned(session, ImportBatch, batch_id, user)
    where = [ImportIssue.batch_id == batch.id]
    if kind:
        where.append(ImportIssue.kind == kind)
    total = await session.scalar(select(func.count()).select_from(ImportIssue).where(*where)) or 0
    rows = await session.scalars(
        select(ImportIssue).where(*where).order_by(ImportIssue.row_number).offset(page.offset).limit(page.limit)
    )
    return paged([{"row": i.row_number, "kind": i.kind, "reason": i.reason} for i in rows], page, total)


async def _save_mapping(session: AsyncSession, user: uuid.UUID, name: str, mapping: CsvMapping) -> ImportMapping:
    row = ImportMapping(id=uuid.uuid4(), user_id=user, name=name.strip(), mapping=mapping.model_dump(mode="json"))
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("You already have a mapping with this name", field="name") from None
    await session.refresh(row)
    return row


def _mapping_view(row: ImportMapping) -> dict[str, Any]:
    return MappingOut(
        id=row.id,
        name=row.name,
        mapping=CsvMapping.model_validate(row.mapping),
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


@router.post(
    "/import-mappings",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[MappingOut],
    responses={409: {"description": "Name taken"}},
)
async def create_mapping(body: MappingCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(_mapping_view(await _save_mapping(session, user, body.name, body.mapping)))


@router.get("/import-mappings", response_model=PageEnvelope[MappingOut])
async def list_mappings(user: CurrentUser, session: Session, page: Annotated[PageParams, Query()]) -> dict[str, Any]:
    where = ImportMapping.user_id == user
    total = await session.scalar(select(func.count()).select_from(ImportMapping).where(where)) or 0
    rows = await session.scalars(
        select(ImportMapping).where(where).order_by(ImportMapping.name).offset(page.offset).limit(page.limit)
    )
    return paged([_mapping_view(r) for r in rows], page, total)


@router.delete("/import-mappings/{mapping_id}", response_model=Envelope[MappingOut], responses=NOT_FOUND)
async def delete_mapping(mapping_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    row = await store.owned(session, ImportMapping, mapping_id, user)
    shown = _mapping_view(row)
    await session.delete(row)
    await session.flush()
    return ok(shown)
