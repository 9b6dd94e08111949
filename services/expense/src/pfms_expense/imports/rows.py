"""What every parser yields, and the fingerprint that recognises a transaction seen before."""

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class ImportFormat(StrEnum):
    CSV = "csv"
    OFX = "ofx"
    QIF = "qif"
    CAMT053 = "camt053"


class BadFile(Exception):
    """The file as a whole cannot be read (wrong format, missing columns, broken encoding):
    the import changes nothing and reports this message."""


@dataclass(slots=True)
class Row:
    """One money-out transaction read from a file; `amount` is positive."""

    number: int
    expense_date: date
    amount: Decimal
    description: str
    currency: str | None = None
    account: str = ""
    external_id: str | None = None
    category: str | None = None
    payment_method: str | None = None


@dataclass(frozen=True)
class Skip:
    """A row that is not an expense (money in, zero): reported, not imported, not an error."""

    number: int
    reason: str


@dataclass(frozen=True)
class RowError:
    number: int
    reason: str


Parsed = Row | Skip | RowError

_SPACES = re.compile(r"\s+")


def normalise_description(text: str) -> str:
    """Case, accents' composition and runs of spaces do not make a different transaction."""
    if text.isascii():  # NFKC changes no ASCII text: the common case, without the slow path
        return " ".join(text.split()).casefold()
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def fingerprint_text(user: str, row: Row, currency: str) -> str:
    """The dedupe key: a bank's transaction id (OFX FITID, CAMT reference) when it has one, else the
    account, date, amount, currency and normalised description; SHA-256 cut to 128 bits, written as
    a UUID (16 bytes in the database: a small, fast index, and collisions out of reach). Text, so a
    100,000-row import builds no `uuid.UUID` per row."""
    if row.external_id:
        key = f"{user}|{row.account}|id|{row.external_id}"
    else:
        amount = row.amount.normalize()
        key = f"{user}|{row.account}|{row.expense_date.isoformat()}|{amount:f}|{currency}|"
        key += normalise_description(row.description)
    h = hashlib.sha256(key.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def fingerprint(user_id: uuid.UUID, row: Row, currency: str) -> uuid.UUID:
    return uuid.UUID(fingerprint_text(str(user_id), row, currency))


def manual_fingerprint(
    user_id: uuid.UUID, expense_date: date, amount: Decimal, currency: str, description: str
) -> uuid.UUID:
    """The same key for an expense entered by hand, so importing the bank's copy of it is a duplicate."""
    return fingerprint(user_id, Row(0, expense_date, amount, description), currency)
