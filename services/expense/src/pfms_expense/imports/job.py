"""The import job: parse a stored upload, skip duplicates, insert the rest, publish, report.

The whole file is applied in ONE transaction: rows and their `expense.created` events go in with
COPY, chunk by chunk, and the batch's final report is written in the same transaction. A file that
turns out bad halfway (broken encoding, malformed XML) rolls everything back, so a bad file changes
nothing. Progress is written beside it through short separate transactions, so a client polling
the batch sees it move. A per-user advisory lock keeps two imports of one user from racing on the
duplicate check.
"""

import asyncio
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import ExpenseCreated
from pfms_expense import money, spending
from pfms_expense.imports import camt_format, csv_format, ofx_format, qif_format
from pfms_expense.imports.csv_format import CsvMapping
from pfms_expense.imports.rows import BadFile, ImportFormat, Parsed, Row, RowError, Skip, fingerprint
from pfms_expense.models import Category, ImportBatch, ImportStatus, Source
from pfms_finance.currency import normalise_currency
from pfms_platform.db import Database
from pfms_platform.events.outbox import emit_many
from pfms_platform.logging import get_logger

log = get_logger(__name__)

EXPENSE_COLUMNS = [
    "id",
    "user_id",
    "amount",
    "currency",
    "category_id",
    "description",
    "expense_date",
    "payment_method",
    "source",
    "import_batch_id",
    "fingerprint",
]
ISSUE_COLUMNS = ["batch_id", "row_number", "kind", "reason"]


class CountingReader(io.RawIOBase):
    """The stored upload as a raw file whose position is the job's progress (bytes the parser pulled)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.bytes_read = self._file.seek(offset, whence)
        return self.bytes_read

    def tell(self) -> int:
        return self.bytes_read

    def readinto(self, buffer: Any) -> int:
        n = self._file.readinto(buffer) or 0
        self.bytes_read += n
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def parsed(stream: CountingReader, options: dict[str, Any]) -> Iterator[Parsed]:
    reader = io.BufferedReader(stream, 1 << 16)
    match ImportFormat(options["format"]):
        case ImportFormat.CSV:
            mapping = CsvMapping.model_validate(options["mapping"])
            return csv_format.parse(reader, mapping, delimiter=options["delimiter"])
        case ImportFormat.OFX:
            return ofx_format.parse(reader)
        case ImportFormat.QIF:
            return qif_format.parse(reader, day_first=options["day_first"], encoding=options["encoding"])
        case ImportFormat.CAMT053:
            return camt_format.parse(reader)
    raise AssertionError(options["format"])


@dataclass
class Counts:
    """Kept in two halves: the parsing stage (a worker thread) and the writing stage (the event loop)
    each count only their own, so the two can overlap without sharing a counter."""

    total: int = 0
    failed: int = 0
    skipped: int = 0
    repeated: int = 0
    known: int = 0
    successful: int = 0
    touched: set[tuple[Any, uuid.UUID | None, str]] = field(default_factory=set)

    def columns(self) -> dict[str, int]:
        return {
            "total_rows": self.total,
            "successful_rows": self.successful,
            "duplicate_rows": self.repeated + self.known,
            "failed_rows": self.failed,
            "skipped_rows": self.skipped,
        }


Issue = tuple[uuid.UUID, int, str, str]


@dataclass
class Prepared:
    """One chunk, checked and fingerprinted, with the expenses and events it would add."""

    issues: list[Issue]
    rows: list[tuple[Row, str, str, uuid.UUID]]


def _ids(n: int) -> list[uuid.UUID]:
    """Random (version 4) ids from one call to the OS's random source instead of one per id."""
    pool = os.urandom(16 * n)
    return [uuid.UUID(bytes=pool[i : i + 16], version=4) for i in range(0, 16 * n, 16)]


class Applier:
    """Turns parsed rows into expenses, issues and events inside the job's transaction.

    `prepare` is pure CPU (run in a worker thread, a chunk ahead); `write` does the database work.
    While PostgreSQL copies one chunk, the next one is being parsed.
    """

    def __init__(self, session: AsyncSession, batch: ImportBatch, categories: dict[str, tuple[uuid.UUID, str]]) -> None:
        self.session = session
        self.batch = batch
        self.user = batch.user_id
        self.default_currency = str(batch.options["currency"])
        self.categories = categories
        self.seen: dict[str, int] = {}
        self.counts = Counts()

    def _checked(self, row: Row) -> tuple[str, str] | str:
        """(currency, fingerprint) of a valid row, or the reason it is not."""
        try:
            currency = normalise_currency(row.currency or self.default_currency)
        except ValueError:
            return f"currency {row.currency!r} is not an active ISO 4217 code"
        try:
            money.check_amount(row.amount, currency)
        except ValueError as exc:
            return f"amount {row.amount}: {exc}"
        return currency, fingerprint(self.user, row, currency)

    def prepare(self, rows: Iterator[Parsed], size: int) -> Prepared | None:
        """The next chunk of the file, or None at its end (BadFile if the file breaks)."""
        chunk = list(islice(rows, size))
        if not chunk:
            return None
        issues: list[Issue] = []
        fresh: list[tuple[Row, str, str]] = []
        for item in chunk:
            self.counts.total += 1
            if isinstance(item, RowError):
                issues.append((self.batch.id, item.number, "error", item.reason))
                self.counts.failed += 1
            elif isinstance(item, Skip):
                issues.append((self.batch.id, item.number, "skipped", item.reason))
                self.counts.skipped += 1
            elif isinstance(checked := self._checked(item), str):
                issues.append((self.batch.id, item.number, "error", checked))
                self.counts.failed += 1
            elif checked[1] in self.seen:
                issues.append(
                    (self.batch.id, item.number, "duplicate", f"same transaction as row {self.seen[checked[1]]}")
                )
                self.counts.repeated += 1
            else:
                self.seen[checked[1]] = item.number
                fresh.append((item, *checked))
        return Prepared(issues, [(*row, new_id) for row, new_id in zip(fresh, _ids(len(fresh)), strict=True)])

    async def write(self, chunk: Prepared) -> None:
        driver = await _driver(self.session)
        known = {
            r[0]
            for r in await driver.fetch(
                "SELECT fingerprint FROM expenses WHERE user_id = $1 AND fingerprint = ANY($2::text[])",
                self.user,
                [key for _, _, key, _ in chunk.rows],
            )
        }
        issues = list(chunk.issues)
        records: list[tuple[Any, ...]] = []
        created: list[ExpenseCreated] = []
        for row, currency, key, expense_id in chunk.rows:
            if key in known:
                issues.append(
                    (self.batch.id, row.number, "duplicate", "already recorded (an earlier import or by hand)")
                )
                self.counts.known += 1
                continue
            category_id, category_name = self.categories.get((row.category or "").casefold(), (None, None))
            records.append(
                (
                    expense_id,
                    self.user,
                    row.amount,
                    currency,
                    category_id,
                    row.description,
                    row.expense_date,
                    row.payment_method,
                    Source.IMPORT.value,
                    self.batch.id,
                    key,
                )
            )
            created.append(
                ExpenseCreated(
                    user_id=self.user,
                    expense_id=expense_id,
                    amount=row.amount,
                    currency=currency,
                    category_id=category_id,
                    category_name=category_name,
                    expense_date=row.expense_date,
                    description=row.description,
                    payment_method=row.payment_method,
                    source=Source.IMPORT.value,
                )
            )
            self.counts.touched.add((row.expense_date, category_id, currency))
        self.counts.successful += len(records)
        if records:
            await driver.copy_records_to_table("expenses", records=records, columns=EXPENSE_COLUMNS)
            await emit_many(self.session, created)
        if issues:
            await driver.copy_records_to_table("import_issues", records=issues, columns=ISSUE_COLUMNS)


async def _driver(session: AsyncSession) -> asyncpg.Connection:
    connection = await (await session.connection()).get_raw_connection()
    return connection.driver_connection


async def _set(db: Database, batch_id: uuid.UUID, **values: Any) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(**values))


async def _categories(session: AsyncSession, user: uuid.UUID) -> dict[str, tuple[uuid.UUID, str]]:
    rows = await session.execute(select(Category.id, Category.name).where(Category.user_id == user))
    return {name.casefold(): (cid, name) for cid, name in rows}


async def _apply_file(db: Database, batch_id: uuid.UUID, path: Path, chunk_rows: int) -> None:
    async with db.sessions() as session, session.begin():
        batch = await session.get(ImportBatch, batch_id)
        assert batch is not None
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"import:{batch.user_id}", 0))))
        applier = Applier(session, batch, await _categories(session, batch.user_id))
        stream = CountingReader(path)
        rows = parsed(stream, batch.options)
        ahead = asyncio.ensure_future(asyncio.to_thread(applier.prepare, rows, chunk_rows))
        try:
            while (chunk := await ahead) is not None:
                ahead = asyncio.ensure_future(asyncio.to_thread(applier.prepare, rows, chunk_rows))
                await applier.write(chunk)
                await _set(db, batch_id, processed_bytes=stream.bytes_read, **applier.counts.columns())
        finally:
            # The worker thread cannot be cancelled: let it finish with the file before closing it.
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()
            stream.close()
        await spending.evaluate(session, batch.user_id, applier.counts.touched)
        await session.execute(
            update(ImportBatch)
            .where(ImportBatch.id == batch_id)
            .values(
                status=ImportStatus.COMPLETED.value,
                processed_bytes=batch.file_bytes,
                finished_at=datetime.now(UTC),
                **applier.counts.columns(),
            )
        )


async def run(db: Database, batch_id: uuid.UUID, path: Path, chunk_rows: int) -> None:
    """Run one batch to its end: completed with an exact report, or failed with nothing changed."""
    reset = {"total_rows": 0, "successful_rows": 0, "duplicate_rows": 0, "failed_rows": 0, "skipped_rows": 0}
    try:
        await _set(db, batch_id, status=ImportStatus.PROCESSING.value)
        await _apply_file(db, batch_id, path, chunk_rows)
    except BadFile as exc:
        await _set(
            db, batch_id, status=ImportStatus.FAILED.value, message=str(exc), finished_at=datetime.now(UTC), **reset
        )
    except asyncio.CancelledError:
        await _set(
            db,
            batch_id,
            status=ImportStatus.FAILED.value,
            message="The import was interrupted; nothing was imported",
            finished_at=datetime.now(UTC),
            **reset,
        )
        raise
    except Exception as exc:
        log.error("import failed", batch_id=str(batch_id), error=repr(exc)[:300])
        await _set(
            db,
            batch_id,
            status=ImportStatus.FAILED.value,
            message="The import failed on our side; nothing was imported",
            finished_at=datetime.now(UTC),
            **reset,
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
