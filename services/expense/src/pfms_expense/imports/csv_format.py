"""Bank CSV exports, streamed with the stdlib csv module through a user's column mapping.

Handles what real exports do: a UTF-8 byte-order mark, `;` or tab separators, decimal commas and
thousands separators, quoted fields with newlines inside, one signed amount column or separate
debit/credit columns, a currency column, and preamble lines before the header.
"""

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pfms_expense.imports.rows import BadFile, Parsed, Row, RowError, Skip

Column = Annotated[str, Field(min_length=1, max_length=200)] | Annotated[int, Field(ge=0, le=500)]
"""A header name, or a 0-based column position when the file has no header."""

SNIFF_BYTES = 64 * 1024
csv.field_size_limit(1 << 20)


class CsvMapping(BaseModel):
    """How to read one bank's CSV export; saved per user under a name for reuse."""

    model_config = ConfigDict(extra="forbid")

    date: Column
    date_format: str = Field(default="%Y-%m-%d", max_length=50, description="strptime format, e.g. %d/%m/%Y")
    amount: Column | None = Field(default=None, description="One signed amount column…")
    expense_sign: Literal["negative", "positive"] = Field(
        default="negative", description="…in which money out has this sign (most banks: negative)"
    )
    debit: Column | None = Field(default=None, description="…or a money-out column (with an optional credit column)")
    credit: Column | None = None
    description: list[Column] = Field(default_factory=list, max_length=5, description="Joined with spaces")
    currency: Column | None = None
    category: Column | None = Field(default=None, description="Matched by name to the user's categories")
    payment_method: Column | None = None
    account: Column | None = None
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal["", ",", ".", " ", "'"] = ""
    delimiter: Literal[",", ";", "\t", "|"] | None = Field(default=None, description="None: detected")
    encoding: Literal["utf-8", "latin-1", "cp1252", "utf-16"] = "utf-8"
    has_header: bool = True
    skip_rows: int = Field(default=0, ge=0, le=100, description="Preamble lines before the header")

    @model_validator(mode="after")
    def _one_amount_style(self) -> "CsvMapping":
        if (self.amount is None) == (self.debit is None):
            raise ValueError("map either `amount` or `debit` (with an optional `credit`)")
        if self.credit is not None and self.debit is None:
            raise ValueError("`credit` needs a `debit` column")
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("decimal and thousands separators must differ")
        columns = [self.date, self.amount, self.debit, self.credit, *self.description]
        if not self.has_header and any(isinstance(c, str) for c in columns if c is not None):
            raise ValueError("without a header, columns are positions (0, 1, …)")
        try:
            datetime.strptime(datetime(2001, 2, 3).strftime(self.date_format), self.date_format)
        except ValueError as exc:
            raise ValueError("`date_format` is not a usable strptime format") from exc
        return self


_JUNK = re.compile(r"[^\d.,\-+()]")


def parse_amount(text: str, mapping: CsvMapping) -> Decimal | None:
    """A decimal from a bank's notation ("1.234,56", "(12.50)", "12.50-", "€ 3,00"); None when blank."""
    value = text.strip()
    if not value:
        return None
    negative = (value.startswith("(") and value.endswith(")")) or value.endswith("-")
    value = _JUNK.sub("", value).strip("()")
    if value.endswith("-"):
        value = value[:-1]
    if mapping.thousands_separator:
        value = value.replace(mapping.thousands_separator, "")
    if mapping.decimal_separator == ",":
        value = value.replace(",", ".")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"amount {text.strip()!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"amount {text.strip()!r} is not a number")
    return -number if negative else number


def _index(header: list[str] | None, column: Column) -> int:
    if isinstance(column, int):
        return column
    assert header is not None
    wanted = column.strip().casefold()
    for i, name in enumerate(header):
        if name.strip().casefold() == wanted:
            return i
    raise BadFile(f"column {column!r} is not in the header ({', '.join(h.strip() for h in header)})")


class _Columns:
    def __init__(self, mapping: CsvMapping, header: list[str] | None) -> None:
        def find(column: Column | None) -> int | None:
            return None if column is None else _index(header, column)

        self.date = _index(header, mapping.date)
        self.amount, self.debit, self.credit = find(mapping.amount), find(mapping.debit), find(mapping.credit)
        self.description = [_index(header, c) for c in mapping.description]
        self.currency, self.category = find(mapping.currency), find(mapping.category)
        self.payment_method, self.account = find(mapping.payment_method), find(mapping.account)


def _cell(record: list[str], index: int | None) -> str:
    if index is None:
        return ""
    if index >= len(record):
        raise ValueError(f"the row has {len(record)} columns, column {index + 1} is missing")
    return record[index].strip()


def _money_out(record: list[str], cols: _Columns, mapping: CsvMapping) -> Decimal | None:
    """The positive amount spent, or None when the row is money in (or zero)."""
    if cols.amount is not None:
        signed = parse_amount(_cell(record, cols.amount), mapping)
        if signed is None:
            raise ValueError("amount is empty")
        out = -signed if mapping.expense_sign == "negative" else signed
        return out if out > 0 else None
    debit = parse_amount(_cell(record, cols.debit), mapping)
    credit = parse_amount(_cell(record, cols.credit), mapping) if cols.credit is not None else None
    if debit is None and credit is None:
        raise ValueError("both debit and credit are empty")
    if debit is not None and debit != 0:
        return abs(debit)
    return None


def _parse_date(text: str, fmt: str) -> date:
    """strptime, with the ISO format (most exports, and every benchmark row) on the fast path."""
    if fmt == "%Y-%m-%d" and len(text) == 10 and text[4] == text[7] == "-":
        return date.fromisoformat(text)
    return datetime.strptime(text, fmt).date()


def _row(number: int, record: list[str], cols: _Columns, mapping: CsvMapping) -> Parsed:
    try:
        raw_date = _cell(record, cols.date)
        try:
            day = _parse_date(raw_date, mapping.date_format)
        except ValueError:
            raise ValueError(f"date {raw_date!r} does not match {mapping.date_format}") from None
        amount = _money_out(record, cols, mapping)
        if amount is None:
            return Skip(number, "money in or zero, not an expense")
        parts = [_cell(record, i) for i in cols.description]
        description = " ".join([p for p in parts if p]) if len(parts) > 1 else (parts[0] if parts else "")
        return Row(
            number=number,
            expense_date=day,
            amount=amount,
            description=description,
            currency=_cell(record, cols.currency) or None,
            account=_cell(record, cols.account),
            category=_cell(record, cols.category) or None,
            payment_method=_cell(record, cols.payment_method) or None,
        )
    except ValueError as exc:
        return RowError(number, str(exc))


def _text(stream: IO[bytes], mapping: CsvMapping) -> io.TextIOWrapper:
    encoding = "utf-8-sig" if mapping.encoding == "utf-8" else mapping.encoding
    return io.TextIOWrapper(stream, encoding=encoding, newline="")


def sniff_delimiter(sample: bytes, mapping: CsvMapping) -> str:
    text = sample.decode(mapping.encoding, errors="ignore").lstrip("\ufeff")
    lines = text.splitlines()[mapping.skip_rows : mapping.skip_rows + 20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def parse(stream: IO[bytes], mapping: CsvMapping, *, delimiter: str) -> Iterator[Parsed]:
    """Rows in file order; row 1 is the first record after the header. Blank lines are ignored."""
    text = _text(stream, mapping)
    try:
        for _ in range(mapping.skip_rows):
            text.readline()
        reader = csv.reader(text, delimiter=delimiter)
        header = None
        if mapping.has_header:
            header = next(reader, None)
            if header is None:
                raise BadFile("the file is empty")
        cols = _Columns(mapping, header)
        number = 0
        for record in reader:
            if not "".join(record).strip():
                continue
            number += 1
            yield _row(number, record, cols, mapping)
    except UnicodeDecodeError as exc:
        raise BadFile(f"the file is not valid {mapping.encoding} text ({exc.reason})") from exc
    except csv.Error as exc:
        raise BadFile(f"the file is not readable CSV: {exc}") from exc
    finally:
        text.detach()
