"""The savings rules without I/O: round-ups, shares, progress, projections, schedules, the emergency fund."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_finance.recurrence import Frequency
from pfms_savings import domain

D = Decimal
amounts = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)
units = st.sampled_from(domain.ROUND_UP_UNITS)


@given(amounts, units)
def test_round_up_lands_on_the_next_multiple(amount: Decimal, unit: Decimal) -> None:
    top_up = domain.round_up(amount, unit)
    assert D(0) <= top_up < unit
    assert (amount + top_up) % unit == 0


@given(st.integers(min_value=0, max_value=100_000), units)
def test_an_exact_multiple_rounds_up_by_nothing(times: int, unit: Decimal) -> None:
    assert domain.round_up(unit * times, unit) == 0


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [("12.34", 1, "0.66"), ("12.34", 5, "2.66"), ("12.34", 10, "7.66"), ("20", 10, "0"), ("0.01", 10, "9.99")],
)
def test_round_up_examples(amount: str, unit: int, expected: str) -> None:
    assert domain.round_up(D(amount), D(unit)) == D(expected)


def test_round_up_refuses_a_negative_amount() -> None:
    with pytest.raises(ValueError):
        domain.round_up(D("-1"), D(1))


@given(amounts, st.decimals(min_value=D("0.0001"), max_value=D(100), places=4))
def test_a_share_never_exceeds_its_percent(amount: Decimal, percent: Decimal) -> None:
    share = domain.percent_of(amount, percent, "USD")
    assert share == share.quantize(D("0.01"))
    assert D(0) <= share <= amount * percent / 100 < share + D("0.01")


def test_share_rounds_down_to_the_minor_unit() -> None:
    assert domain.percent_of(D("1234.56"), D(10), "USD") == D("123.45")
    assert domain.percent_of(D("999"), D("33.3333"), "JPY") == D("332")


def test_percentage_rounds_down_and_thresholds() -> None:
    assert domain.percentage(D("99.999"), D(100)) == D("99.99")
    assert domain.percentage(D(150), D(100)) == D("150.00")
    assert domain.thresholds_reached(D("24.99"), D(100)) == []
    assert domain.thresholds_reached(D(25), D(100)) == [25]
    assert domain.thresholds_reached(D("99.99"), D(100)) == [25, 50, 75]
    assert domain.thresholds_reached(D(100), D(100)) == [25, 50, 75, 100]


def test_required_monthly_rounds_up_and_needs_everything_once_due() -> None:
    today = date(2026, 1, 1)
    # 1,000 over 365 days = 11.99 average months → 83.388…, rounded up so paying it reaches the target
    assert domain.required_monthly(D(1000), today, date(2027, 1, 1), "USD") == D("83.39")
    assert domain.required_monthly(D(1000), today, date(2026, 1, 10), "USD") == D("1000.00")
    assert domain.required_monthly(D(1000), today, date(2025, 6, 1), "USD") == D("1000.00")
    assert domain.required_monthly(D(0), today, date(2027, 1, 1), "USD") == D("0.00")


def test_projected_completion_follows_the_pace_of_the_history() -> None:
    today = date(2026, 3, 31)
    # 900 saved over the 90 days since 1 January → 10 a day; 100 left → 10 days
    history = domain.History(first_day=date(2026, 1, 1), net_saved=D(900))
    assert domain.daily_rate(history, today) == D(10)
    assert domain.projected_completion(D(100), history, today) == date(2026, 4, 10)
    assert domain.on_track(D(100), date(2026, 4, 10), date(2026, 4, 10)) is True
    assert domain.on_track(D(100), date(2026, 4, 10), date(2026, 4, 9)) is False
    assert domain.on_track(D(100), date(2026, 4, 10), None) is None


def test_a_short_history_counts_as_a_month() -> None:
    today = date(2026, 3, 31)
    history = domain.History(first_day=today, net_saved=D(300))
    assert domain.daily_rate(history, today) == D(10)
    assert domain.projected_completion(D(700), history, today) == date(2026, 6, 9)


def test_no_pace_no_projection() -> None:
    today = date(2026, 3, 31)
    assert domain.projected_completion(D(100), domain.History(None, D(0)), today) is None
    assert domain.projected_completion(D(100), domain.History(date(2026, 1, 1), D(0)), today) is None
    assert domain.projected_completion(D(0), domain.History(None, D(0)), today) == today
    assert domain.on_track(D(0), None, date(2020, 1, 1)) is True
    assert domain.projected_completion(D(10) ** 15, domain.History(date(2026, 1, 1), D("0.0001")), today) is None


@given(
    st.decimals(min_value=D("0.01"), max_value=D(10_000_000), places=2),
    st.decimals(min_value=D("0.01"), max_value=D(100_000), places=2),
    st.integers(min_value=1, max_value=3650),
)
def test_the_projection_reaches_the_target(remaining: Decimal, saved: Decimal, age: int) -> None:
    today = date(2026, 6, 1)
    history = domain.History(date.fromordinal(today.toordinal() - age), saved)
    projected = domain.projected_completion(remaining, history, today)
    if projected is not None:
        days, span = (projected - today).days, domain.span_days(history, today)
        assert saved * days >= remaining * span > saved * (days - 1)


def test_due_runs_catch_up_and_clamp_month_ends() -> None:
    start = date(2026, 1, 31)
    runs = domain.due_runs(start, Frequency.MONTHLY, start, date(2026, 4, 30), limit=10)
    assert runs == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert domain.due_runs(start, Frequency.MONTHLY, start, date(2026, 4, 30), limit=2) == runs[:2]
    assert domain.due_runs(start, Frequency.WEEKLY, date(2026, 2, 7), date(2026, 2, 20), limit=10) == [
        date(2026, 2, 7),
        date(2026, 2, 14),
    ]
    assert domain.due_runs(start, Frequency.DAILY, date(2026, 2, 1), date(2026, 1, 31), limit=10) == []


def test_months_window_and_count() -> None:
    assert domain.months_window(date(2026, 3, 15), 6) == (date(2025, 9, 1), date(2026, 2, 28))
    assert domain.months_window(date(2026, 1, 1), 1) == (date(2025, 12, 1), date(2025, 12, 31))
    assert domain.months_between(date(2025, 12, 20), date(2026, 2, 28)) == 3


def test_emergency_fund_per_currency() -> None:
    fund = domain.emergency_fund("USD", D("6000"), 3, D("3000"), 3, 6)
    assert fund.monthly_expenses == D("2000.00")
    assert (fund.minimum, fund.recommended, fund.shortfall) == (D("6000.00"), D("12000.00"), D("9000.00"))
    assert fund.months_covered == D("1.5")
    empty = domain.emergency_fund("EUR", D(0), 0, D(500), 3, 6)
    assert empty.monthly_expenses == 0 and empty.months_covered is None and empty.shortfall == 0


@given(
    st.decimals(min_value=D("0.01"), max_value=D(10_000_000), places=2),
    st.integers(min_value=-100, max_value=3650),
)
def test_paying_the_required_amount_monthly_reaches_the_target(remaining: Decimal, days_left: int) -> None:
    today = date(2026, 6, 1)
    monthly = domain.required_monthly(remaining, today, date.fromordinal(today.toordinal() + days_left), "USD")
    months = max(D(days_left) / domain.DAYS_PER_MONTH, D(1))
    assert monthly * months >= remaining
    assert (monthly - D("0.01")) * months < remaining
