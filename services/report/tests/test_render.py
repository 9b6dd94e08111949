"""The renderers: the PDF reads back with the right totals, XLSX cells are numbers, CSV round-trips."""

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from pfms_report import archive, builders
from pfms_report.document import Document, Table
from pfms_report.render import render_csv, render_pdf, render_xlsx

EXPENSE = {
    "expense_categories": [{"id": "c1", "name": "Groceries"}, {"id": "c2", "name": "Rent"}],
    "expenses": [
        {"amount": "45.1000", "currency": "USD", "expense_date": "2026-10-03", "category_id": "c1"},
        {"amount": "54.9050", "currency": "USD", "expense_date": "2026-10-17", "category_id": "c1"},
        {"amount": "1200.0000", "currency": "USD", "expense_date": "2026-10-01", "category_id": "c2"},
        {"amount": "99.0000", "currency": "USD", "expense_date": "2026-09-30", "category_id": "c2"},
    ],
}
INCOME = {"income_transactions": [{"amount": "4000.0000", "currency": "USD", "date": "2026-10-28", "type": "salary"}]}


def _monthly() -> Document:
    return builders.cash_flow("Monthly report", date(2026, 10, 1), date(2026, 10, 31), EXPENSE, INCOME)


def test_monthly_document_holds_the_totals() -> None:
    doc = _monthly()
    summary, by_category = doc.tables[0], doc.tables[1]
    assert summary.rows == [("USD", Decimal("4000.00"), Decimal("1300.00"), Decimal("2700.00"))]
    assert by_category.rows == [("USD", "Groceries", Decimal("100.00")), ("USD", "Rent", Decimal("1200.00"))]
    assert doc.chart is not None
    assert doc.chart.points == [("Groceries", Decimal("100.00")), ("Rent", Decimal("1200.00"))]


def test_pdf_text_carries_the_totals_and_a_chart() -> None:
    body = render_pdf(_monthly())
    assert body.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    for expected in ("Monthly report", "2026-10-01 to 2026-10-31", "Groceries", "100.00", "1300.00", "2700.00"):
        assert expected in text
    assert "Expenses by category (USD)" in text  # the chart's heading


def test_xlsx_amounts_are_numeric_cells() -> None:
    book = load_workbook(io.BytesIO(render_xlsx(_monthly())))
    assert book.sheetnames[:2] == ["Summary", "Expenses by category"]
    summary = book["Summary"]
    assert [c.value for c in summary[1]] == ["Currency", "Income", "Expenses", "Net"]
    income, spent, net = (summary.cell(row=2, column=i) for i in (2, 3, 4))
    assert (income.data_type, spent.data_type, net.data_type) == ("n", "n", "n")
    assert (income.value, spent.value, net.value) == (4000, 1300, 2700)
    detail = book["Expenses"]
    assert isinstance(detail.cell(row=2, column=1).value, datetime)  # dates are date cells
    assert detail.cell(row=2, column=3).value == 1200


def test_csv_round_trips() -> None:
    doc = _monthly()
    rows = list(csv.reader(io.StringIO(render_csv(doc).decode())))
    assert rows[0] == ["# Monthly report", "2026-10-01 to 2026-10-31"]
    start = rows.index(["# Summary"])
    assert rows[start + 1] == ["Currency", "Income", "Expenses", "Net"]
    assert rows[start + 2] == ["USD", "4000.00", "1300.00", "2700.00"]
    # Every table comes back with its columns and cell text.
    for table in doc.tables:
        at = rows.index([f"# {table.title}"])
        assert tuple(rows[at + 1]) == table.columns
        assert len([r for r in rows[at + 2 : at + 2 + len(table.rows)] if r]) == len(table.rows)


def test_empty_period_renders_in_every_format() -> None:
    doc = builders.cash_flow("Monthly report", date(2020, 1, 1), date(2020, 1, 31), {}, {})
    assert doc.chart is None
    assert "Nothing in this period." in PdfReader(io.BytesIO(render_pdf(doc))).pages[0].extract_text()
    assert load_workbook(io.BytesIO(render_xlsx(doc)))["Summary"].max_row == 1
    assert b"# Summary" in render_csv(doc)


def test_sheet_names_are_unique_and_legal() -> None:
    doc = Document("t", "s", [Table("A/B: totals?", ("x",)), Table("A/B: totals?", ("x",))])
    assert load_workbook(io.BytesIO(render_xlsx(doc))).sheetnames == ["AB totals", "AB totals 2"]


def test_portfolio_and_tax_documents() -> None:
    investment = {
        "portfolios": [{"id": "p1", "name": "Main"}],
        "assets": [{"id": "a1", "portfolio_id": "p1", "symbol": "VTI", "currency": "USD", "manual_price": None}],
        "asset_states": [
            {"asset_id": "a1", "quantity": "4", "cost": "800", "realized": "0", "last_trade_price": "250"}
        ],
    }
    portfolio = builders.portfolio(date(2026, 11, 26), investment)
    assert portfolio.tables[0].rows == [("USD", Decimal("800.00"), Decimal("1000.00"))]
    text = PdfReader(io.BytesIO(render_pdf(portfolio))).pages[0].extract_text()
    assert "VTI" in text and "1000.00" in text
    tax = builders.tax(2025, {"regime": "new", "summary": {"total_income": "12000.00", "total_tax": "1500.25"}})
    assert tax.tables[0].rows == [
        ("regime", "new"),
        ("summary.total_income", Decimal("12000.00")),
        ("summary.total_tax", Decimal("1500.25")),
    ]
    assert tax.chart is not None and [p[0] for p in tax.chart.points] == ["summary.total_income", "summary.total_tax"]
    sheet = load_workbook(io.BytesIO(render_xlsx(tax)))["Calculation"]
    assert sheet.cell(row=3, column=2).data_type == "n"


def test_export_zip_holds_one_json_per_service_and_a_manifest() -> None:
    answers = {"expense": {"service": "expense", "tables": {"expenses": [{"id": "e1", "amount": "5.0000"}]}}}
    body = archive.build_zip(
        "u1", datetime(2026, 11, 26, tzinfo=UTC), answers, {"ai": "the service has no data export"}
    )
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert sorted(z.namelist()) == ["expense.json", "manifest.json"]
        assert json.loads(z.read("expense.json")) == answers["expense"]
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["services"]["expense"] == {"file": "expense.json", "tables": ["expenses"]}
    assert manifest["services"]["ai"]["file"] is None


def test_user_text_never_becomes_a_formula() -> None:
    doc = Document("t", "s", [Table("Expenses", ("Category", "Amount"), [("=HYPERLINK(1)", Decimal("-5.00"))])])
    sheet = load_workbook(io.BytesIO(render_xlsx(doc)))["Expenses"]
    assert (sheet["A2"].data_type, sheet["A2"].value) == ("s", "=HYPERLINK(1)")
    assert sheet["B2"].value == -5
    rows = list(csv.reader(io.StringIO(render_csv(doc).decode())))
    assert rows[-1] == ["'=HYPERLINK(1)", "-5.00"]
