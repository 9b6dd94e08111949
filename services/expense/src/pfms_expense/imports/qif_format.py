"""Quicken QIF, streamed record by record; each record's fields are read by quiffen.

quiffen's whole-file parser keeps everything in memory, so records (lines up to `^`) are cut here
and handed one at a time to `quiffen.Transaction.from_list`.
"""

from collections.abc import Iterator
from typing import IO

from quiffen import Transaction

from pfms_expense.imports.rows import BadFile, Parsed, Row, RowError, Skip
from pfms_expense.imports.text import text_lines

TRANSACTION_SECTIONS = {"!type:bank", "!type:cash", "!type:ccard", "!type:oth a", "!type:oth l"}


def _row(number: int, lines: list[str], day_first: bool, account: str) -> Parsed:
    try:
        trn, _ = Transaction.from_list(lines, day_first=day_first)
    except Exception as exc:  # quiffen raises ValueError, pydantic errors and others for a bad field
        return RowError(number, f"record is not valid QIF: {exc}"[:300])
    if trn.amount is None or trn.amount >= 0:
        return Skip(number, "money in or zero, not an expense")
    description = " ".join(p for p in (trn.payee, trn.memo) if p)
    category = trn.category.name if trn.category is not None else None
    number_of = str(trn.check_number) if trn.check_number is not None else None
    return Row(
        number=number,
        expense_date=trn.date.date(),
        amount=-trn.amount,
        description=description,
        account=account,
        category=category,
        payment_method="cheque" if number_of and number_of.isdigit() else None,
    )


def parse(stream: IO[bytes], *, day_first: bool, encoding: str = "utf-8") -> Iterator[Parsed]:
    """Transactions of the bank, cash and card sections; other sections (lists, investments) are skipped."""
    section: str | None = None
    account = ""
    record: list[str] = []
    number = 0
    for line in text_lines(stream, encoding):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        if line.startswith("!"):
            head = line.strip().lower()
            if head.startswith("!type:") or head.startswith("!account"):
                section = head
            continue
        if line.startswith("^"):
            if section in TRANSACTION_SECTIONS and record:
                number += 1
                yield _row(number, record, day_first, account)
            elif section == "!account":
                account = next((r[1:].strip() for r in record if r.startswith("N")), account)
            record = []
            continue
        record.append(line)
    if section is None:
        raise BadFile("the file is not QIF: no !Type header")
    if record and section in TRANSACTION_SECTIONS:
        number += 1
        yield RowError(number, "the last record is not closed by ^")
