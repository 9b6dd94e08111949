"""Pure rules of the report service: report periods and the money totals a report shows.

Amounts arrive as decimal strings from the services' exports and are summed exactly as `Decimal`;
each total is rounded once, at the end, to its currency's minor unit (banker's rounding), so a
table's rows always add up to the total the report prints for the unrounded sum's currency.
"""

import calendar
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pfms_finance.currency import quantize
from pfms_platform.errors import Invalid

UNCATEGORISED = "Uncategorised"


class ReportType(StrEnum):
    MONTHLY = "monthly"
    CUSTOM = "custom"
    TAX = "tax"
    PORTFOLIO = "portfolio"
    EXPORT = "export"


class ReportFormat(StrEnum):
    PDF = "pdf"
    XLSX = "xlsx"
    CSV = "csv"
    ZIP = "zip"


class Status(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"


CONTENT_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.ZIP: "application/zip",
}


def month_period(year: int, month: int) -> tuple[date, date]:
    """First and last day of a calendar month."""
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def period_of(report_type: ReportType, parameters: Mapping[str, Any]) -> tuple[date, date] | None:
    """The inclusive date range a report covers, from its stored parameters (None: not date-bound)."""
    if report_type is ReportType.MONTHLY:
        return month_period(int(parameters["year"]), int(parameters["month"]))
    if report_type is ReportType.CUSTOM:
        return date.fromisoformat(parameters["from"]), date.fromisoformat(parameters["to"])
    return None


MAX_RANGE_DAYS = 5 * 366
FIRST_YEAR = 1970


def job_parameters(
    report_type: ReportType,
    today: date,
    *,
    year: int | None = None,
    month: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The stored parameters of a new job, or `Invalid` naming the field that is missing or wrong.

    monthly: `year` + `month` (not in the future); custom: `from` ≤ `to`, at most five years;
    tax: `year`; portfolio and export: none (a portfolio report is as of when it runs).
    """
    given = {"year": year, "month": month, "from": start, "to": end}
    needed = {
        ReportType.MONTHLY: ("year", "month"),
        ReportType.CUSTOM: ("from", "to"),
        ReportType.TAX: ("year",),
    }.get(report_type, ())
    for name, value in given.items():
        if value is None and name in needed:
            raise Invalid(f"{name} is required for {report_type.value} reports", field=name)
        if value is not None and name not in needed:
            raise Invalid(f"{name} does not apply to {report_type.value} reports", field=name)
    if year is not None and not FIRST_YEAR <= year <= today.year:
        raise Invalid(f"year must be between {FIRST_YEAR} and {today.year}", field="year")
    if report_type is ReportType.MONTHLY:
        assert year is not None and month is not None
        if (year, month) > (today.year, today.month):
            raise Invalid("month must not be in the future", field="month")
        return {"year": year, "month": month}
    if report_type is ReportType.CUSTOM:
        assert start is not None and end is not None
        if end < start:
            raise Invalid("to must not be before from", field="to")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise Invalid("the range may span at most five years", field="to")
        return {"from": start.isoformat(), "to": end.isoformat()}
    if report_type is ReportType.TAX:
        return {"year": year}
    return {}


def retry_delay(attempt: int, base_seconds: float, cap_seconds: float = 300.0) -> timedelta:
    """Back-off before a job whose upstream was unavailable is tried again: doubling, capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempt - 1)))


def expiry(generated_at: datetime, ttl_hours: float) -> datetime:
    return generated_at.astimezone(UTC) + timedelta(hours=ttl_hours)


def object_key(user_id: uuid.UUID, report_id: uuid.UUID, fmt: ReportFormat) -> str:
    """Stable per job, so a retried or resumed job overwrites its own object; the prefix purges a user."""
    return f"{user_id}/{report_id}.{fmt.value}"


def file_name(report_type: ReportType, fmt: ReportFormat, parameters: Mapping[str, Any]) -> str:
    if report_type is ReportType.MONTHLY:
        stem = f"monthly-{int(parameters['year']):04d}-{int(parameters['month']):02d}"
    elif report_type is ReportType.CUSTOM:
        stem = f"custom-{parameters['from']}-to-{parameters['to']}"
    elif report_type is ReportType.TAX:
        stem = f"tax-{parameters['year']}"
    elif report_type is ReportType.EXPORT:
        stem = "pfms-data-export"
    else:
        stem = "portfolio"
    return f"{stem}.{fmt.value}"


# Aggregations over exported rows


@dataclass(frozen=True)
class Entry:
    """One money movement: an expense or an income transaction."""

    day: date
    amount: Decimal
    currency: str
    label: str


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def expense_entries(
    expenses: Iterable[Mapping[str, Any]], categories: Iterable[Mapping[str, Any]], start: date, end: date
) -> list[Entry]:
    """The personal expenses dated within [start, end], labelled with their category's name. An expense of a
    shared space (`space_id` set: the person's export holds those they recorded) is the space report's."""
    names = {str(c["id"]): str(c["name"]) for c in categories}
    entries = []
    for row in expenses:
        if row.get("space_id"):
            continue
        day = _day(row["expense_date"])
        if start <= day <= end:
            label = names.get(str(row.get("category_id")), UNCATEGORISED)
            entries.append(Entry(day, _decimal(row["amount"]), str(row["currency"]), label))
    return entries


def income_entries(transactions: Iterable[Mapping[str, Any]], start: date, end: date) -> list[Entry]:
    """Personal income transactions dated within [start, end] (gross amounts), labelled with their type; a
    shared space's (`space_id` set) is the space report's."""
    entries = []
    for row in transactions:
        if row.get("space_id"):
            continue
        day = _day(row["date"])
        if start <= day <= end:
            entries.append(Entry(day, _decimal(row["amount"]), str(row["currency"]), str(row.get("type") or "other")))
    return entries


def totals(entries: Iterable[Entry], key: str = "label") -> dict[tuple[str, str], Decimal]:
    """Exact sums by (currency, label) or, with key="month", by (currency, "YYYY-MM")."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        group = e.label if key == "label" else f"{e.day.year:04d}-{e.day.month:02d}"
        sums[(e.currency, group)] += e.amount
    return dict(sorted(sums.items()))


def currency_totals(entries: Iterable[Entry]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for e in entries:
        sums[e.currency] += e.amount
    return dict(sorted(sums.items()))


@dataclass(frozen=True)
class Summary:
    currency: str
    income: Decimal
    expenses: Decimal
    net: Decimal


def summaries(income: Iterable[Entry], expenses: Iterable[Entry]) -> list[Summary]:
    """Income, expenses and net per currency, each rounded once to the currency's minor unit."""
    money_in, money_out = currency_totals(income), currency_totals(expenses)
    rows = []
    for currency in sorted(set(money_in) | set(money_out)):
        gained, spent = money_in.get(currency, Decimal(0)), money_out.get(currency, Decimal(0))
        rows.append(
            Summary(currency, quantize(gained, currency), quantize(spent, currency), quantize(gained - spent, currency))
        )
    return rows


def rounded(sums: Mapping[tuple[str, str], Decimal]) -> list[tuple[str, str, Decimal]]:
    return [(currency, label, quantize(amount, currency)) for (currency, label), amount in sums.items()]


@dataclass(frozen=True)
class Holding:
    portfolio: str
    symbol: str
    name: str
    asset_type: str
    currency: str
    quantity: Decimal
    cost: Decimal
    price: Decimal | None
    value: Decimal | None
    realized: Decimal


def holdings(
    portfolios: Iterable[Mapping[str, Any]], assets: Iterable[Mapping[str, Any]], states: Iterable[Mapping[str, Any]]
) -> list[Holding]:
    """Open positions per asset: quantity and cost basis from the investment service's running state,
    valued at the asset's manual price or else its last trade price (None when it has neither)."""
    names = {str(p["id"]): str(p["name"]) for p in portfolios}
    state_of = {str(s["asset_id"]): s for s in states}
    out = []
    for asset in assets:
        state = state_of.get(str(asset["id"]))
        if state is None:
            continue
        quantity = _decimal(state["quantity"])
        price_raw = asset.get("manual_price") or state.get("last_trade_price")
        price = _decimal(price_raw) if price_raw is not None else None
        currency = str(asset["currency"])
        value = quantize(quantity * price, currency) if price is not None else None
        out.append(
            Holding(
                portfolio=names.get(str(asset["portfolio_id"]), ""),
                symbol=str(asset["symbol"]),
                name=str(asset.get("name") or ""),
                asset_type=str(asset.get("asset_type") or ""),
                currency=currency,
                quantity=quantity,
                cost=quantize(_decimal(state["cost"]), currency),
                price=price,
                value=value,
                realized=quantize(_decimal(state.get("realized") or 0), currency),
            )
        )
    return sorted(out, key=lambda h: (h.portfolio, h.symbol))


def holding_totals(rows: Iterable[Holding]) -> list[tuple[str, Decimal, Decimal]]:
    """(currency, cost, value) per currency; value counts only holdings that have a price."""
    cost: dict[str, Decimal] = defaultdict(Decimal)
    value: dict[str, Decimal] = defaultdict(Decimal)
    for h in rows:
        cost[h.currency] += h.cost
        value[h.currency] += h.value or Decimal(0)
    return [(c, quantize(cost[c], c), quantize(value[c], c)) for c in sorted(cost)]


def flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """A nested JSON answer (the tax calculation) as (dotted key, scalar) pairs, in its own order."""
    if isinstance(data, Mapping):
        pairs: list[tuple[str, Any]] = []
        for key, value in data.items():
            pairs.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return pairs
    if isinstance(data, list):
        pairs = []
        for i, value in enumerate(data):
            pairs.extend(flatten(value, f"{prefix}[{i}]"))
        return pairs
    return [(prefix, data)]


def as_amount(value: Any) -> Any:
    """A decimal string from JSON becomes a Decimal (a number cell); anything else stays as it is."""
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except ArithmeticError:
            return value
        return number if number.is_finite() else value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value
