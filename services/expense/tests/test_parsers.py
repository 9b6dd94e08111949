"""Import parsers on real-world shaped files: German bank CSV (BOM, `;`, decimal commas, quoted
newlines), OFX 1.x SGML and 2.x XML, QIF and CAMT.053; and the dedupe fingerprint."""

import io
import subprocess
import sys
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_contracts.expense import ExpenseCreated
from pfms_expense.imports import camt_format, csv_format, ofx_format, qif_format
from pfms_expense.imports.csv_format import CsvMapping
from pfms_expense.imports.job import expense_created_data
from pfms_expense.imports.rows import BadFile, Row, RowError, Skip, fingerprint, normalise_description
from pfms_expense.imports.text import text_lines
from pfms_platform.events.outbox import random_ids

FILES = Path(__file__).parent / "files"
D = Decimal

GERMAN = CsvMapping(
    date="Buchungstag",
    date_format="%d.%m.%Y",
    amount="Betrag",
    description=["Verwendungszweck"],
    currency="Währung",
    decimal_separator=",",
    thousands_separator=".",
)


def kinds(parsed: list) -> list[str]:
    return [type(p).__name__ for p in parsed]


def test_german_bank_csv_with_bom_semicolons_decimal_commas_and_quoted_newlines() -> None:
    raw = (FILES / "bank-de.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    delimiter = csv_format.sniff_delimiter(raw, GERMAN)
    assert delimiter == ";"
    rows = list(csv_format.parse(io.BytesIO(raw), GERMAN, delimiter=delimiter))
    assert kinds(rows) == ["Row", "Skip", "Row", "RowError", "Row", "Row"]
    first, _, cafe, bad_date, _, no_currency = rows
    assert (first.number, first.expense_date, first.amount, first.description, first.currency) == (
        1,
        date(2026, 1, 5),
        D("1234.56"),
        "REWE Markt\r\nBerlin",
        "EUR",
    )
    assert (cafe.amount, cafe.description) == (D("3.50"), 'Café "Zur Post"')
    assert bad_date.number == 4 and "does not match %d.%m.%Y" in bad_date.reason
    assert no_currency.currency is None and no_currency.number == 6, "blank lines are not rows"


def test_debit_and_credit_columns_and_positions_without_header() -> None:
    mapping = CsvMapping(date=0, debit=2, credit=3, description=[1], has_header=False, date_format="%m/%d/%Y")
    text = b"01/02/2026,Books,25.00,\n01/03/2026,Refund,,10.00\n01/04/2026,Nothing,,\n01/05/2026,Short\n"
    rows = list(csv_format.parse(io.BytesIO(text), mapping, delimiter=","))
    assert kinds(rows) == ["Row", "Skip", "RowError", "RowError"]
    assert rows[0].amount == D("25.00")
    assert "both debit and credit are empty" in rows[2].reason
    assert "column 3 is missing" in rows[3].reason


def test_amount_notations() -> None:
    us = CsvMapping(date="d", amount="a", thousands_separator=",")
    eu = CsvMapping(date="d", amount="a", decimal_separator=",", thousands_separator=".")
    assert csv_format.parse_amount("1,234.56", us) == D("1234.56")
    assert csv_format.parse_amount("(12.50)", us) == D("-12.50")
    assert csv_format.parse_amount("12.50-", us) == D("-12.50")
    assert csv_format.parse_amount("€ -3,00", eu) == D("-3.00")
    assert csv_format.parse_amount("  ", us) is None
    with pytest.raises(ValueError, match="not a number"):
        csv_format.parse_amount("twelve", us)


def test_a_missing_column_or_a_broken_encoding_fails_the_whole_file() -> None:
    mapping = CsvMapping(date="Date", amount="Amount")
    with pytest.raises(BadFile, match="'Amount' is not in the header"):
        list(csv_format.parse(io.BytesIO(b"Date,Total\n2026-01-01,-1\n"), mapping, delimiter=","))
    with pytest.raises(BadFile, match="not valid utf-8"):
        list(csv_format.parse(io.BytesIO(b"Date,Amount\n2026-01-01,-1\n\xff\xfe,-2\n"), mapping, delimiter=","))


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"date": "d"}, "either `amount` or `debit`"),
        ({"date": "d", "amount": "a", "debit": "b"}, "either `amount` or `debit`"),
        ({"date": "d", "amount": "a", "date_format": "%Q"}, "strptime"),
        ({"date": "d", "amount": "a", "has_header": False}, "positions"),
        ({"date": "d", "amount": "a", "decimal_separator": ",", "thousands_separator": ","}, "must differ"),
    ],
)
def test_mapping_rules(fields, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        CsvMapping.model_validate(fields)


def test_ofx_1_sgml() -> None:
    with (FILES / "statement-v1.ofx").open("rb") as f:
        rows = list(ofx_format.parse(f))
    assert kinds(rows) == ["Row", "Skip"]
    row = rows[0]
    assert (row.expense_date, row.amount, row.currency, row.account, row.external_id, row.description) == (
        date(2026, 1, 5),
        D("42.17"),
        "USD",
        "0123456789",
        "2026010501",
        "GROCERY STORE #12 Card 1234",
    )


def test_ofx_2_xml_credit_card_with_foreign_currency_and_a_bad_transaction() -> None:
    with (FILES / "statement-v2.ofx").open("rb") as f:
        rows = list(ofx_format.parse(f))
    assert kinds(rows) == ["Row", "Row", "Skip", "RowError"]
    assert (rows[0].amount, rows[0].currency, rows[0].account) == (D("19.99"), "GBP", "4111111111111111")
    assert (rows[1].currency, rows[1].external_id) == ("EUR", "CC-0002")
    assert rows[3].number == 4


@pytest.mark.parametrize("name", ["statement-v1.ofx", "statement-v2.ofx"])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_ofx_read_in_any_chunk_size_gives_the_same_rows(monkeypatch, name, chunk) -> None:
    """Marks, values and transactions cut by a chunk boundary are put back together."""
    with (FILES / name).open("rb") as f:
        whole = list(ofx_format.parse(f))
    monkeypatch.setattr(ofx_format, "CHUNK_BYTES", chunk)
    with (FILES / name).open("rb") as f:
        assert list(ofx_format.parse(f)) == whole


def generated_ofx(transactions: int) -> bytes:
    """An OFX 1.x statement with that many card payments (a big bank export)."""
    head = (FILES / "statement-v1.ofx").read_bytes().split(b"<STMTTRN>")[0]
    body = "".join(
        f"<STMTTRN>\n<TRNTYPE>DEBIT\n<DTPOSTED>202601{1 + i % 28:02d}\n<TRNAMT>-{1 + i % 500}.{i % 100:02d}\n"
        f"<FITID>GEN{i:08d}\n<NAME>SHOP {i % 977}\n<MEMO>Card 1234 ref {i}\n</STMTTRN>\n"
        for i in range(transactions)
    )
    return head + body.encode() + b"</BANKTRANLIST>\n</STMTRS>\n</STMTTRNRS>\n</BANKMSGSRSV1>\n</OFX>\n"


PEAK_SCRIPT = """
import sys, tracemalloc
from pfms_expense.imports import ofx_format
count, last = 0, None
tracemalloc.start()
with open(sys.argv[1], "rb") as f:
    for row in ofx_format.parse(f):
        count, last = count + 1, row
peak = tracemalloc.get_traced_memory()[1]
print(peak, count, last.number, last.external_id, last.account)
"""


def test_a_large_ofx_streams_in_bounded_memory(tmp_path) -> None:
    """Peak memory while reading an OFX of 8,000 transactions (1 MB) stays at what one 64 KB chunk and
    one transaction need, far below the file (a 5 MB file peaks the same: README); every transaction
    comes out, numbered, with its FITID and the statement's account. Measured in a process of its own:
    tracemalloc counts every thread's allocations, and a test session has others running."""
    path = tmp_path / "big.ofx"
    path.write_bytes(generated_ofx(8_000))
    size = path.stat().st_size
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True, check=True, timeout=120
    )
    peak, count, number, external_id, account = done.stdout.split()
    assert size > 1_000_000 and int(count) == 8_000
    assert (int(number), external_id, account) == (8_000, "GEN00007999", "0123456789")
    assert int(peak) < 400_000 and int(peak) < size / 2.5, f"peak {peak} bytes for a {size}-byte file"


def test_an_ofx_cut_inside_a_transaction_is_a_bad_file() -> None:
    content = (FILES / "statement-v1.ofx").read_bytes()
    with pytest.raises(BadFile, match="ends inside a transaction"):
        list(ofx_format.parse(io.BytesIO(content[: content.index(b"</STMTTRN>")])))


def test_not_ofx_is_a_bad_file() -> None:
    with pytest.raises(BadFile, match="not OFX"):
        list(ofx_format.parse(io.BytesIO(b"Date,Amount\n2026-01-01,5\n")))


def test_qif_bank_records() -> None:
    with (FILES / "checking.qif").open("rb") as f:
        rows = list(qif_format.parse(f, day_first=False))
    assert kinds(rows) == ["Row", "Skip", "Row", "RowError"]
    grocer, _, water, _ = rows
    assert (grocer.expense_date, grocer.amount, grocer.description, grocer.category, grocer.account) == (
        date(2026, 1, 15),
        D("45.20"),
        "Corner Grocer Milk and bread",
        "Groceries",
        "Everyday Checking",
    )
    assert (water.expense_date, water.payment_method) == (date(2026, 1, 17), "cheque")


def test_qif_without_a_type_header_is_a_bad_file() -> None:
    with pytest.raises(BadFile, match="no !Type"):
        list(qif_format.parse(io.BytesIO(b"D01/15'26\nT-1.00\n^\n"), day_first=False))


def test_camt053_streams_debits_only() -> None:
    with (FILES / "statement.camt053.xml").open("rb") as f:
        rows = list(camt_format.parse(f))
    assert kinds(rows) == ["Row", "Skip", "RowError", "Row"]
    utility, _, broken, bakery = rows
    assert (utility.amount, utility.currency, utility.account, utility.external_id, utility.description) == (
        D("120.50"),
        "EUR",
        "DE89370400440532013000",
        "BANKREF-0001",
        "Strom Januar Stadtwerke Berlin",
    )
    assert "not a number" in broken.reason
    assert (bakery.expense_date, bakery.external_id, bakery.description) == (
        date(2026, 1, 8),
        None,
        "KARTENZAHLUNG BAECKEREI",
    )


def test_camt_refuses_entities_and_broken_xml() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>'
    with pytest.raises(BadFile):
        list(camt_format.parse(io.BytesIO(bomb)))
    with pytest.raises(BadFile, match="well-formed"):
        list(camt_format.parse(io.BytesIO(b"<Document><BkToCstmrStmt><Stmt>")))


def test_text_lines_split_across_chunks() -> None:
    body = ("é" * 40000 + "\r\n" + "x\n") * 3
    lines = list(text_lines(io.BytesIO(("\ufeff" + body).encode()), "utf-8"))
    assert "".join(lines) == body
    assert len(lines) == 6


def test_fingerprint_ignores_case_and_spacing_and_prefers_the_bank_id() -> None:
    user = uuid.uuid4()
    a = Row(1, date(2026, 1, 5), D("9.99"), "REWE  Markt  Berlin")
    b = Row(7, date(2026, 1, 5), D("9.990"), "rewe markt berlin")
    assert fingerprint(user, a, "EUR") == fingerprint(user, b, "EUR")
    assert fingerprint(user, a, "EUR") != fingerprint(user, a, "USD")
    assert fingerprint(user, a, "EUR") != fingerprint(uuid.uuid4(), a, "EUR")
    by_id = Row(1, date(2026, 1, 5), D("1"), "x", external_id="FIT-1", account="acct")
    moved = Row(2, date(2026, 1, 6), D("2"), "y", external_id="FIT-1", account="acct")
    assert fingerprint(user, by_id, "EUR") == fingerprint(user, moved, "EUR")


@given(st.text(max_size=60))
def test_normalised_descriptions_are_stable(text) -> None:
    once = normalise_description(text)
    assert normalise_description(once) == once
    assert normalise_description(text.upper()) == normalise_description(text.lower()) or not text.isascii()


def test_bulk_ids_are_version_4_uuids() -> None:
    ids = random_ids(500)
    assert len(set(ids)) == 500
    assert {uuid.UUID(i).version for i in ids} == {4}
    assert {uuid.UUID(i).variant for i in ids} == {uuid.RFC_4122}
    assert all(str(uuid.UUID(i)) == i for i in ids)


def test_skip_and_error_carry_row_numbers() -> None:
    assert Skip(3, "x").number == 3 and RowError(4, "y").number == 4


@pytest.mark.parametrize(
    ("amount", "currency", "category", "name", "method"),
    [
        (D("12.30"), "EUR", uuid.uuid4(), "Groceries", "card"),
        (D("1500"), "JPY", None, None, None),
        (D("0.125"), "KWD", None, None, ""),
    ],
)
def test_import_event_data_is_exactly_what_the_contract_dumps(amount, currency, category, name, method) -> None:
    user, expense = uuid.uuid4(), uuid.uuid4()
    fast = expense_created_data(
        str(user), str(expense), amount, currency, category, name, date(2026, 2, 28), "Café «Zur Post»", method
    )
    model = ExpenseCreated(
        user_id=user,
        expense_id=expense,
        amount=amount,
        currency=currency,
        category_id=category,
        category_name=name,
        expense_date=date(2026, 2, 28),
        description="Café «Zur Post»",
        payment_method=method,
        source="import",
    )
    assert fast == model.model_dump(mode="json")
