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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.expense import ExpenseCreated
from pfms_expense import conversion, fx, money, spending
from pfms_expense.imports import camt_format, csv_format, ofx_format, qif_format
from pfms_expense.imports.csv_format import CsvMapping
from pfms_expense.imports.rows import BadFile, ImportFormat, Parsed, Row, RowError, Skip, fingerprint_text
from pfms_expense.models import Category, ImportBatch, ImportStatus, Source
from pfms_finance.currency import normalise_currency, quantize
from pfms_platform.db import Database
from pfms_platform.events.outbox import emit_payloads, random_ids
from pfms_platform.internal import InternalClient
from pfms_platform.logging import get_logger
from pfms_platform.metrics import EXPENSES_CREATED

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
    "user_currency",
    "fx_rate",
    "amount_in_user_currency",
]
ISSUE_COLUMNS = ["batch_id", "row_number", "kind", "reason"]
IMPORTED = Source.IMPORT.value
ONE = Decimal(1)


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
class Fresh:
    """A row not seen earlier in the file: its expense record and its `expense.created` data."""

    number: int
    fingerprint: str
    record: tuple[Any, ...]
    event: dict[str, Any]
    touched: tuple[Any, uuid.UUID | None, str]


@dataclass
class Prepared:
    """One chunk, checked and fingerprinted, with the expenses and events it would add."""

    issues: list[Issue]
    rows: list[Fresh]


class Applier:
    """Turns parsed rows into expenses, issues and events inside the job's transaction.

    `prepare` is pure CPU (run in a worker thread, a chunk ahead); `write` does the database work.
    While PostgreSQL copies one chunk, the next one is being parsed. Event data is built as JSON
    values straight from the row (`emit_payloads` checks the first of each chunk against the
    contract; a test checks they equal `ExpenseCreated.model_dump`), a model per row being the
    largest cost of an import.
    """

    def __init__(
        self,
        session: AsyncSession,
        batch: ImportBatch,
        categories: dict[str, tuple[uuid.UUID, str]],
        profile_currency: str,
        fx_client: InternalClient,
    ) -> None:
        self.session = session
        self.profile_currency = profile_currency
        self.fx_client = fx_client
        self.batch = batch
        self.user = batch.user_id
        self.user_text = str(batch.user_id)
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
        return currency, fingerprint_text(self.user_text, row, currency)

    def _fresh(self, row: Row, currency: str, key: str, expense_id: str) -> Fresh:
        category_id, category_name = self.categories.get((row.category or "").casefold(), (None, None))
        amount = quantize(row.amount, currency)
        # Rows in the profile currency are converted here; the others in `write`, with the chunk's rates.
        converted = (currency, ONE, amount) if currency == self.profile_currency else (None, None, None)
        record = (
            expense_id,
            self.user,
            amount,
            currency,
            category_id,
            row.description,
            row.expense_date,
            row.payment_method,
            IMPORTED,
            self.batch.id,
            key,
            *converted,
        )
        event = expense_created_data(
            self.user_text,
            expense_id,
            amount,
            currency,
            category_id,
            category_name,
            row.expense_date,
            row.description,
            row.payment_method,
        )
        return Fresh(row.number, key, record, event, (row.expense_date, category_id, currency))

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
                reason = f"same transaction as row {self.seen[checked[1]]}"
                issues.append((self.batch.id, item.number, "duplicate", reason))
                self.counts.repeated += 1
            else:
                self.seen[checked[1]] = item.number
                fresh.append((item, *checked))
        ids = random_ids(len(fresh))
        return Prepared(
            issues, [self._fresh(row, cur, key, new) for (row, cur, key), new in zip(fresh, ids, strict=True)]
        )

    async def write(self, chunk: Prepared) -> None:
        driver = await _driver(self.session)
        known = {
            str(r[0])
            for r in await driver.fetch(
                "SELECT fingerprint FROM expenses WHERE user_id = $1 AND fingerprint = ANY($2::uuid[])",
                self.user,
                [row.fingerprint for row in chunk.rows],
            )
        }
        issues = list(chunk.issues)
        added = []
        for row in chunk.rows:
            if row.fingerprint in known:
                issues.append(
                    (self.batch.id, row.number, "duplicate", "already recorded (an earlier import or by hand)")
                )
                self.counts.known += 1
            else:
                added.append(row)
                self.counts.touched.add(row.touched)
        self.counts.successful += len(added)
        await self._convert(added)
        if added:
            await driver.copy_records_to_table("expenses", records=[r.record for r in added], columns=EXPENSE_COLUMNS)
            await emit_payloads(self.session, ExpenseCreated, [r.event for r in added])
            EXPENSES_CREATED.labels("expense", "import").inc(len(added))
        if issues:
            await driver.copy_records_to_table("import_issues", records=issues, columns=ISSUE_COLUMNS)

    async def _convert(self, rows: list[Fresh]) -> None:
        """Rows in other currencies converted as they go in, with one market-data call per currency and
        day not cached yet; a row without a rate is copied unconverted (the conversion job takes it)."""
        foreign = [row for row in rows if row.record[-1] is None]
        if not foreign:
            return
        quote = self.profile_currency
        found = await conversion.rates(
            self.session, self.fx_client, quote, {(row.record[3], row.record[6]) for row in foreign}
        )
        for row in foreign:
            amount, currency, day = row.record[2], row.record[3], row.record[6]
            if (rate := found.get((currency, day))) is not None:
                row.record = (*row.record[:-3], quote, rate, fx.convert(amount, rate, quote))


def expense_created_data(
    user: str,
    expense_id: str,
    amount: Decimal,
    currency: str,
    category_id: uuid.UUID | None,
    category_name: str | None,
    expense_date: date,
    description: str,
    payment_method: str | None,
) -> dict[str, Any]:
    """`ExpenseCreated(...).model_dump(mode="json")` of an imported row, without a model."""
    return {
        "user_id": user,
        "expense_id": expense_id,
        "amount": str(amount),
        "currency": currency,
        "category_id": str(category_id) if category_id else None,
        "category_name": category_name,
        "expense_date": expense_date.isoformat(),
        "description": description,
        "tags": [],
        "payment_method": payment_method,
        "source": IMPORTED,
        "recurring_expense_id": None,
        "account_id": None,  # an imported row names no account (the contract's default)
        "space_id": None,  # imports are personal
    }


async def _driver(session: AsyncSession) -> asyncpg.Connection:
    connection = await (await session.connection()).get_raw_connection()
    return connection.driver_connection


async def _set(db: Database, batch_id: uuid.UUID, **values: Any) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(**values))


async def _categories(session: AsyncSession, user: uuid.UUID) -> dict[str, tuple[uuid.UUID, str]]:
    rows = await session.execute(select(Category.id, Category.name).where(Category.user_id == user))
    return {name.casefold(): (cid, name) for cid, name in rows}


async def _apply_file(
    db: Database, fx_client: InternalClient, batch_id: uuid.UUID, path: Path, chunk_rows: int
) -> None:
    async with db.sessions() as session, session.begin():
        batch = await session.get(ImportBatch, batch_id)
        assert batch is not None
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"import:{batch.user_id}", 0))))
        # FOR SHARE until the import commits: a currency change waits, then unconverts these rows too.
        profile_currency = await conversion.profile_currency(session, batch.user_id)
        applier = Applier(session, batch, await _categories(session, batch.user_id), profile_currency, fx_client)
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
        # One market-data call per distinct (currency, day) of the file not already cached.
        converted = await conversion.convert_user(session, fx_client, batch.user_id)
        await spending.evaluate(session, batch.user_id, applier.counts.touched | converted)
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


async def run(db: Database, fx_client: InternalClient, batch_id: uuid.UUID, path: Path, chunk_rows: int) -> None:
    """Run one batch to its end: completed with an exact report, or failed with nothing changed."""
    reset = {"total_rows": 0, "successful_rows": 0, "duplicate_rows": 0, "failed_rows": 0, "skipped_rows": 0}
    try:
        await _set(db, batch_id, status=ImportStatus.PROCESSING.value)
        await _apply_file(db, fx_client, batch_id, path, chunk_rows)
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
