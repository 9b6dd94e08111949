"""Pure rules: periods, job parameters, and Decimal totals that never create or lose money."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_platform.errors import Invalid
from pfms_report import domain
from pfms_report.domain import ReportType

TODAY = date(2026, 11, 26)


def test_month_period_knows_leap_years() -> None:
    assert domain.month_period(2024, 2) == (date(2024, 2, 1), date(2024, 2, 29))
    assert domain.month_period(2026, 12) == (date(2026, 12, 1), date(2026, 12, 31))


def test_job_parameters_per_type() -> None:
    assert domain.job_parameters(ReportType.MONTHLY, TODAY, year=2026, month=10) == {"year": 2026, "month": 10}
    assert domain.job_parameters(ReportType.CUSTOM, TODAY, start=date(2026, 1, 1), end=date(2026, 3, 31)) == {
        "from": "2026-01-01",
        "to": "2026-03-31",
    }
    assert domain.job_parameters(ReportType.TAX, TODAY, year=2025) == {"year": 2025}
    assert domain.job_parameters(ReportType.PORTFOLIO, TODAY) == {}


@pytest.mark.parametrize(
    ("kind", "kwargs", "field"),
    [
        (ReportType.MONTHLY, {"year": 2026}, "month"),
        (ReportType.MONTHLY, {"year": 2026, "month": 12}, "month"),  # the future
        (ReportType.MONTHLY, {"year": 1900, "month": 1}, "year"),
        (ReportType.CUSTOM, {"start": date(2026, 1, 1)}, "to"),
        (ReportType.CUSTOM, {"start": date(2026, 2, 1), "end": date(2026, 1, 1)}, "to"),
        (ReportType.CUSTOM, {"start": date(2019, 1, 1), "end": date(2026, 1, 1)}, "to"),
        (ReportType.TAX, {}, "year"),
        (ReportType.PORTFOLIO, {"year": 2026}, "year"),
        (ReportType.TAX, {"year": 2026, "month": 1}, "month"),
    ],
)
def test_job_parameters_name_the_wrong_field(kind: ReportType, kwargs: dict, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        domain.job_parameters(kind, TODAY, **kwargs)
    assert caught.value.details[0]["field"] == field


def test_period_of_stored_parameters() -> None:
    assert domain.period_of(ReportType.MONTHLY, {"year": 2026, "month": 2}) == (date(2026, 2, 1), date(2026, 2, 28))
    assert domain.period_of(ReportType.CUSTOM, {"from": "2026-01-05", "to": "2026-02-01"}) == (
        date(2026, 1, 5),
        date(2026, 2, 1),
    )
    assert domain.period_of(ReportType.PORTFOLIO, {}) is None


def test_retry_delay_doubles_up_to_a_cap() -> None:
    assert [domain.retry_delay(n, 5).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert domain.retry_delay(20, 5) == timedelta(seconds=300)


def test_object_keys_share_the_users_prefix_and_file_names_say_what() -> None:
    import uuid

    user, report = uuid.uuid4(), uuid.uuid4()
    assert domain.object_key(user, report, domain.ReportFormat.PDF) == f"{user}/{report}.pdf"
    assert domain.file_name(ReportType.MONTHLY, domain.ReportFormat.XLSX, {"year": 2026, "month": 3}) == (
        "monthly-2026-03.xlsx"
    )


CATEGORIES = [{"id": "c-food", "name": "Food"}, {"id": "c-rent", "name": "Rent"}]


def _expense(amount: str, day: str, category: str | None, currency: str = "USD") -> dict:
    return {"amount": amount, "currency": currency, "expense_date": day, "category_id": category}


def test_expense_totals_by_category_and_month_within_the_period() -> None:
    rows = [
        _expense("10.1250", "2026-10-01", "c-food"),
        _expense("5.0050", "2026-10-31", "c-food"),
        _expense("900.0000", "2026-10-02", "c-rent"),
        _expense("3.0000", "2026-10-03", None),
        _expense("7.0000", "2026-11-01", "c-food"),  # outside
        _expense("2500", "2026-10-04", "c-rent", "JPY"),
    ]
    entries = domain.expense_entries(rows, CATEGORIES, date(2026, 10, 1), date(2026, 10, 31))
    assert domain.rounded(domain.totals(entries)) == [
        ("JPY", "Rent", Decimal("2500")),
        ("USD", "Food", Decimal("15.13")),  # 15.1300 exactly: rounded once, at the end
        ("USD", "Rent", Decimal("900.00")),
        ("USD", domain.UNCATEGORISED, Decimal("3.00")),
    ]
    assert domain.rounded(domain.totals(entries, key="month")) == [
        ("JPY", "2026-10", Decimal("2500")),
        ("USD", "2026-10", Decimal("918.13")),
    ]


def test_a_personal_report_leaves_a_spaces_rows_to_the_space_report() -> None:
    space = "6a2b0f7e-1111-4a4a-9c9c-0123456789ab"
    october = (date(2026, 10, 1), date(2026, 10, 31))
    expenses = [_expense("10", "2026-10-01", "c-food"), {**_expense("99", "2026-10-02", "c-food"), "space_id": space}]
    assert [e.amount for e in domain.expense_entries(expenses, CATEGORIES, *october)] == [Decimal("10")]
    income = [
        {"amount": "100", "currency": "USD", "date": "2026-10-05", "type": "salary", "space_id": None},
        {"amount": "500", "currency": "USD", "date": "2026-10-06", "type": "salary", "space_id": space},
    ]
    assert [e.amount for e in domain.income_entries(income, *october)] == [Decimal("100")]


def test_summaries_net_income_against_spending_per_currency() -> None:
    income = domain.income_entries(
        [
            {"amount": "3000.00", "currency": "USD", "date": "2026-10-25", "type": "salary"},
            {"amount": "50.00", "currency": "EUR", "date": "2026-10-10", "type": "interest"},
            {"amount": "9.00", "currency": "USD", "date": "2026-09-30", "type": "salary"},
        ],
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    spent = domain.expense_entries(
        [_expense("1200.505", "2026-10-02", "c-rent")], CATEGORIES, date(2026, 10, 1), date(2026, 10, 31)
    )
    assert domain.summaries(income, spent) == [
        domain.Summary("EUR", Decimal("50.00"), Decimal("0.00"), Decimal("50.00")),
        # 1200.505 → 1200.50 (half to even); net from the exact values: 1799.495 → 1799.50
        domain.Summary("USD", Decimal("3000.00"), Decimal("1200.50"), Decimal("1799.50")),
    ]


amounts = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000000"), places=4)


@given(st.lists(st.tuples(amounts, st.sampled_from(["c-food", "c-rent", None]), st.integers(1, 28)), max_size=40))
def test_grouping_never_creates_or_loses_money(items: list[tuple[Decimal, str | None, int]]) -> None:
    rows = [_expense(str(a), f"2026-{(d % 12) + 1:02d}-{d:02d}", c) for a, c, d in items]
    entries = domain.expense_entries(rows, CATEGORIES, date(2026, 1, 1), date(2026, 12, 31))
    exact = sum((a for a, _, _ in items), Decimal(0))
    assert sum(domain.totals(entries).values(), Decimal(0)) == exact
    assert sum(domain.totals(entries, key="month").values(), Decimal(0)) == exact
    assert domain.currency_totals(entries).get("USD", Decimal(0)) == exact
    # Rounded once at the end: within half a cent of the exact total, never drifting with the row count.
    rounded_total = sum((s.expenses for s in domain.summaries([], entries)), Decimal(0))
    assert abs(rounded_total - exact) <= Decimal("0.005")


def test_holdings_value_at_manual_or_last_trade_price() -> None:
    portfolios = [{"id": "p1", "name": "Main"}]
    assets = [
        {
            "id": "a1",
            "portfolio_id": "p1",
            "symbol": "AAPL",
            "name": "Apple",
            "asset_type": "stock",
            "currency": "USD",
            "manual_price": None,
        },
        {
            "id": "a2",
            "portfolio_id": "p1",
            "symbol": "GOLD",
            "name": "Gold",
            "asset_type": "commodity",
            "currency": "USD",
            "manual_price": "2000.00",
        },
        {
            "id": "a3",
            "portfolio_id": "p1",
            "symbol": "XYZ",
            "name": None,
            "asset_type": "stock",
            "currency": "USD",
            "manual_price": None,
        },
    ]
    states = [
        {"asset_id": "a1", "quantity": "10", "cost": "1500.0000", "realized": "12.5", "last_trade_price": "180.25"},
        {"asset_id": "a2", "quantity": "0.5", "cost": "900", "realized": "0", "last_trade_price": "1800"},
        {"asset_id": "a3", "quantity": "3", "cost": "30", "realized": "0", "last_trade_price": None},
    ]
    rows = domain.holdings(portfolios, assets, states)
    assert [(h.symbol, h.value) for h in rows] == [
        ("AAPL", Decimal("1802.50")),
        ("GOLD", Decimal("1000.00")),
        ("XYZ", None),
    ]
    assert domain.holding_totals(rows) == [("USD", Decimal("2430.00"), Decimal("2802.50"))]


def test_flatten_and_amounts_of_a_nested_answer() -> None:
    answer = {"year": 2025, "totals": {"total_income": "1000.00", "total_tax": "150.50"}, "brackets": [{"rate": "10"}]}
    assert domain.flatten(answer) == [
        ("year", 2025),
        ("totals.total_income", "1000.00"),
        ("totals.total_tax", "150.50"),
        ("brackets[0].rate", "10"),
    ]
    assert domain.as_amount("150.50") == Decimal("150.50")
    assert domain.as_amount("single") == "single"
    assert domain.as_amount(True) == "true"
    assert domain.as_amount(2025) == Decimal(2025)
