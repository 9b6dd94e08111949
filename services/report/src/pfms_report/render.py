"""One `Document`, three file formats. Amounts stay numbers wherever the format has numbers.

PDF (reportlab): a title, one table per section and a bar chart. XLSX (openpyxl): one sheet per
table, amounts as numeric cells with a two-decimal format, dates as date cells. CSV: the tables one
after another, each headed by a `# title` line and separated by a blank line.
"""

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from pfms_report.document import Cell, Chart, Document
from pfms_report.domain import ReportFormat


def text(cell: Cell) -> str:
    """How a cell reads in text formats: decimals in plain notation, dates in ISO 8601."""
    if cell is None:
        return ""
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(cell: Cell) -> str:
    """Text a spreadsheet would run as a formula (a category named `=HYPERLINK(…)`) is quoted with a
    leading apostrophe (OWASP's CSV-injection advice); numbers keep their sign."""
    value = text(cell)
    return "'" + value if isinstance(cell, str) and value.startswith(FORMULA_STARTS) else value


def render_csv(doc: Document) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"# {doc.title}", doc.subtitle])
    for table in doc.tables:
        writer.writerow([])
        writer.writerow([f"# {table.title}"])
        writer.writerow(table.columns)
        writer.writerows([_csv_cell(c) for c in row] for row in table.rows)
    return out.getvalue().encode("utf-8")


def _sheet_title(title: str, taken: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Sheet"
    name, n = base, 2
    while name in taken:
        suffix = f" {n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def render_xlsx(doc: Document) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    taken: set[str] = set()
    for table in doc.tables:
        sheet = book.create_sheet(_sheet_title(table.title, taken))
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append(list(row))
        for column in sheet.iter_cols(min_row=2):
            for cell in column:
                if cell.data_type == "f":  # user text that looks like a formula stays text
                    cell.data_type = "s"
                elif isinstance(cell.value, Decimal | float | int):
                    cell.number_format = "#,##0.00##"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        for i, name in enumerate(table.columns, start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = max(12, len(name) + 2)
    if not doc.tables:
        book.create_sheet("Report")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _chart(chart: Chart) -> Drawing:
    drawing = Drawing(170 * mm, 80 * mm)
    bars = VerticalBarChart()
    bars.x, bars.y, bars.width, bars.height = 15 * mm, 15 * mm, 150 * mm, 55 * mm
    bars.data = [[float(amount) for _, amount in chart.points]]  # drawing coordinates only
    bars.categoryAxis.categoryNames = [label[:14] for label, _ in chart.points]
    bars.categoryAxis.labels.angle = 30
    bars.categoryAxis.labels.boxAnchor = "ne"
    bars.valueAxis.valueMin = 0
    bars.bars[0].fillColor = colors.HexColor("#2f6f9f")
    drawing.add(bars)
    return drawing


def render_pdf(doc: Document) -> bytes:
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    pdf = SimpleDocTemplate(out, pagesize=A4, title=doc.title, leftMargin=15 * mm, rightMargin=15 * mm)
    story: list = [Paragraph(doc.title, styles["Title"]), Paragraph(doc.subtitle, styles["Normal"]), Spacer(1, 6 * mm)]
    for table in doc.tables:
        story.append(Paragraph(table.title, styles["Heading2"]))
        if not table.rows:
            story.append(Paragraph("Nothing in this period.", styles["Normal"]))
            continue
        data = [list(table.columns), *[[text(c) for c in row] for row in table.rows]]
        grid = PdfTable(data, repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6ee")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("FONTSIZE", (0, 0), (-1, -1), 8),
                ]
            )
        )
        story += [grid, Spacer(1, 4 * mm)]
        if table is doc.tables[0] and doc.chart is not None and doc.chart.points:
            story += [Paragraph(doc.chart.title, styles["Heading2"]), _chart(doc.chart)]
    pdf.build(story)
    return out.getvalue()


RENDERERS = {ReportFormat.PDF: render_pdf, ReportFormat.XLSX: render_xlsx, ReportFormat.CSV: render_csv}


def render(doc: Document, fmt: ReportFormat) -> bytes:
    return RENDERERS[fmt](doc)
