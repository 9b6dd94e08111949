"""Turn the data gathered from the services into a report `Document` (pure: no I/O).

`tables` arguments are the `tables` of a service's `/internal/v1/export` answer
({table name: [row dicts]}); the tax report takes the tax service's calculation as it answered.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pfms_report import domain
from pfms_report.document import Cell, Chart, Document, Table

Tables = Mapping[str, list[dict[str, Any]]]


def _rows(tables: Tables, name: str) -> list[dict[str, Any]]:
    return list(tables.get(name) or [])


def cash_flow(title: str, start: date, end: date, expense: Tables, income: Tables) -> Document:
    """Monthly and custom-range reports: income, spending by category and by month, net per currency."""
    spent = domain.expense_entries(_rows(expense, "expenses"), _rows(expense, "expense_categories"), start, end)
    earned = domain.income_entries(_rows(income, "income_transactions"), start, end)
    return cash_flow_of(title, start, end, spent, earned)


def cash_flow_of(title: str, start: date, end: date, spent: list[domain.Entry], earned: list[domain.Entry]) -> Document:
    """The cash-flow document of entries already within [start, end] (a space's come from its events)."""
    summary = Table(
        "Summary",
        ("Currency", "Income", "Expenses", "Net"),
        [(s.currency, s.income, s.expenses, s.net) for s in domain.summaries(earned, spent)],
    )
    by_category = Table(
        "Expenses by category",
        ("Currency", "Category", "Amount"),
        [(c, label, amount) for c, label, amount in domain.rounded(domain.totals(spent))],
    )
    by_month = Table(
        "Expenses by month",
        ("Currency", "Month", "Amount"),
        [(c, month, amount) for c, month, amount in domain.rounded(domain.totals(spent, key="month"))],
    )
    by_type = Table(
        "Income by type",
        ("Currency", "Type", "Amount"),
        [(c, label, amount) for c, label, amount in domain.rounded(domain.totals(earned))],
    )
    detail = Table(
        "Expenses",
        ("Date", "Category", "Amount", "Currency"),
        [(e.day, e.label, e.amount, e.currency) for e in sorted(spent, key=lambda e: (e.day, e.label))],
    )
    tables = [summary, by_category, by_month, by_type, detail]
    return Document(title, f"{start.isoformat()} to {end.isoformat()}", tables, _category_chart(spent))


def _category_chart(spent: list[domain.Entry]) -> Chart | None:
    """Spending by category in the currency with the most spending (a chart has one unit)."""
    per_currency = domain.currency_totals(spent)
    if not per_currency:
        return None
    main = max(per_currency, key=lambda c: per_currency[c])
    points = [(label, amount) for c, label, amount in domain.rounded(domain.totals(spent)) if c == main]
    return Chart(f"Expenses by category ({main})", points)


def portfolio(today: date, investment: Tables) -> Document:
    rows = domain.holdings(
        _rows(investment, "portfolios"), _rows(investment, "assets"), _rows(investment, "asset_states")
    )
    held: list[tuple[Cell, ...]] = [
        (h.portfolio, h.symbol, h.name, h.asset_type, h.quantity, h.cost, h.price, h.value, h.realized, h.currency)
        for h in rows
    ]
    totals = domain.holding_totals(rows)
    tables = [
        Table("Totals", ("Currency", "Cost basis", "Value"), [(c, cost, value) for c, cost, value in totals]),
        Table(
            "Holdings",
            ("Portfolio", "Symbol", "Name", "Type", "Quantity", "Cost", "Price", "Value", "Realised", "Currency"),
            held,
        ),
    ]
    chart = None
    if totals:
        main = max(totals, key=lambda t: t[1])[0]
        chart = Chart(f"Cost basis by holding ({main})", [(h.symbol, h.cost) for h in rows if h.currency == main])
    return Document("Portfolio report", f"as of {today.isoformat()}", tables, chart)


def tax(year: int, calculation: Mapping[str, Any]) -> Document:
    """The tax service's calculation for the year, line by line (amounts as numbers)."""
    lines: list[tuple[Cell, ...]] = [(key, domain.as_amount(value)) for key, value in domain.flatten(calculation)]
    points = [
        (str(key), value)
        for key, value in lines
        if isinstance(value, Decimal) and value >= 0 and str(key).rsplit(".", 1)[-1].startswith("total")
    ]
    table = Table("Calculation", ("Item", "Value"), lines)
    chart = Chart("Totals", points) if points else None
    return Document(f"Tax report {year}", f"{year}-01-01 to {year}-12-31", [table], chart)
