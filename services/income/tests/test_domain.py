"""Pure rules: income amounts, expected income, and the projection's arithmetic (no I/O)."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_finance.currency import quantize
from pfms_finance.recurrence import Frequency
from pfms_income.domain import (
    ProjectionInput,
    Schedule,
    SourceFrequency,
    check_minor_units,
    check_received_date,
    check_schedule,
    confidence,
    cumulative_burn,
    early_payment_grace,
    expand,
    expected_incomes,
    net_amount,
    next_expected,
    project,
)
from pfms_platform.errors import Invalid

D = Decimal
TODAY = date(2025, 1, 15)


def field_of(exc: pytest.ExceptionInfo[Invalid]) -> str:
    return exc.value.details[0]["field"]


# --- income amounts ----------------------------------------------------------------------------


def test_net_is_amount_less_tax_and_a_stated_net_must_match() -> None:
    assert net_amount(D("5000.00"), D("1250.50")) == D("3749.50")
    assert net_amount(D("5000.00"), D("1250.50"), D("3749.5")) == D("3749.50")
    with pytest.raises(Invalid) as wrong:
        net_amount(D("5000.00"), D("1250.50"), D("3750.00"))
    assert field_of(wrong) == "net_amount"
    with pytest.raises(Invalid) as too_much:
        net_amount(D("100"), D("100.01"))
    assert field_of(too_much) == "tax_deducted"
    assert net_amount(D("100"), D("100")) == D(0)


def test_amounts_never_carry_more_decimals_than_the_currency() -> None:
    check_minor_units("USD", amount=D("10.50"), tax=None)
    check_minor_units("JPY", amount=D("1500"))
    check_minor_units("KWD", amount=D("1.125"))
    with pytest.raises(Invalid) as usd:
        check_minor_units("USD", amount=D("10.505"))
    assert field_of(usd) == "amount"
    with pytest.raises(Invalid) as jpy:
        check_minor_units("JPY", amount=D("1"), tax_deducted=D("0.5"))
    assert field_of(jpy) == "tax_deducted"


def test_received_date_allows_one_day_of_time_zone_slack() -> None:
    check_received_date(TODAY + timedelta(days=1), TODAY)
    check_received_date(date(2000, 1, 1), TODAY)
    with pytest.raises(Invalid) as future:
        check_received_date(TODAY + timedelta(days=2), TODAY)
    assert field_of(future) == "date"


def test_a_schedule_needs_amount_and_start_and_ends_after_it_starts() -> None:
    check_schedule(None, None, None, None)
    check_schedule(SourceFrequency.MONTHLY, D(1), TODAY, TODAY)
    for args, field in [
        ((SourceFrequency.MONTHLY, None, TODAY, None), "amount"),
        ((SourceFrequency.ONE_TIME, D(1), None, None), "start_date"),
        ((SourceFrequency.WEEKLY, D(1), TODAY, TODAY - timedelta(days=1)), "end_date"),
        ((None, None, None, TODAY), "end_date"),
    ]:
        with pytest.raises(Invalid) as exc:
            check_schedule(*args)
        assert field_of(exc) == field


def test_next_expected_payment() -> None:
    monthly = SourceFrequency.MONTHLY
    assert next_expected(monthly, date(2024, 10, 31), None, True, TODAY) == date(2025, 1, 31)
    assert next_expected(monthly, date(2024, 10, 15), None, True, TODAY) == TODAY
    assert next_expected(monthly, date(2024, 10, 31), date(2025, 1, 30), True, TODAY) is None
    assert next_expected(monthly, date(2024, 10, 31), None, False, TODAY) is None
    assert next_expected(SourceFrequency.ONE_TIME, date(2025, 3, 1), None, True, TODAY) == date(2025, 3, 1)
    assert next_expected(SourceFrequency.ONE_TIME, date(2025, 1, 1), None, True, TODAY) is None
    assert next_expected(None, None, None, True, TODAY) is None


# --- schedules -----------------------------------------------------------------------------------


def test_month_end_schedules_clamp_like_the_expense_service() -> None:
    rent = Schedule(D("1200.00"), "USD", date(2024, 1, 31), Frequency.MONTHLY, label="Rent")
    got = [day for day, _ in expand(rent, date(2024, 2, 1), date(2024, 5, 31))]
    assert got == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)]


def test_outflows_start_at_the_next_due_date_and_stop_at_the_end() -> None:
    gym = Schedule(
        D("30"), "USD", date(2024, 1, 10), Frequency.MONTHLY, end=date(2025, 4, 10), not_before=date(2025, 3, 10)
    )
    assert [d for d, _ in expand(gym, date(2025, 1, 16), date(2025, 12, 31))] == [date(2025, 3, 10), date(2025, 4, 10)]
    once = Schedule(D("500"), "USD", date(2025, 2, 1))
    assert list(expand(once, date(2025, 1, 16), date(2025, 2, 1))) == [(date(2025, 2, 1), D("500.00"))]
    assert list(expand(once, date(2025, 2, 2), date(2025, 3, 1))) == []


def test_inflation_steps_up_on_each_anniversary() -> None:
    rent = Schedule(D("1000.00"), "USD", date(2024, 3, 1), Frequency.MONTHLY, inflation_rate=D("0.05"))
    amounts = dict(expand(rent, date(2025, 1, 1), date(2026, 4, 1)))
    assert amounts[date(2025, 2, 1)] == D("1000.00")
    assert amounts[date(2025, 3, 1)] == D("1050.00")
    assert amounts[date(2026, 3, 1)] == D("1102.50")


def test_an_early_recorded_income_settles_the_coming_occurrence_only() -> None:
    assert [early_payment_grace(f) for f in Frequency] == [0, 3, 7, 7, 7, 7]
    assert early_payment_grace(None) is None
    salary = Schedule(D("3000"), "USD", date(2024, 1, 31), Frequency.MONTHLY, last_received=date(2025, 1, 28))
    got = [d for d, _ in expected_incomes(salary, date(2025, 1, 29), date(2025, 3, 31))]
    assert got == [date(2025, 2, 28), date(2025, 3, 31)]
    stale = Schedule(D("3000"), "USD", date(2024, 1, 31), Frequency.MONTHLY, last_received=date(2025, 1, 20))
    assert [d for d, _ in expected_incomes(stale, date(2025, 1, 21), date(2025, 1, 31))] == [date(2025, 1, 31)]
    bonus = Schedule(D("900"), "USD", date(2025, 6, 1), last_received=date(2025, 1, 2))
    assert list(expected_incomes(bonus, date(2025, 1, 3), date(2025, 12, 31))) == []


def test_confidence_falls_with_the_horizon() -> None:
    values = [confidence(k, 90) for k in range(0, 366)]
    assert values[0] == D("1.00") and values[90] == D("0.50") and values[180] == D("0.25")
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert all(D(0) <= v <= D(1) for v in values)


# --- projection ----------------------------------------------------------------------------------


def inp(**kw) -> ProjectionInput:
    base = {"today": TODAY, "days": 30, "currency": "USD", "starting_balance": D("1000.00"), "threshold": D(0)}
    return ProjectionInput(**{**base, **kw})


def test_burn_income_and_outflows_make_the_daily_balance() -> None:
    result = project(
        inp(
            days=20,
            burn_totals={"USD": D("300.00")},
            incomes=[Schedule(D("2000.00"), "USD", date(2024, 12, 20), Frequency.MONTHLY, label="Salary")],
            outflows=[
                Schedule(
                    D("1500.00"), "USD", date(2024, 12, 1), Frequency.MONTHLY, label="Rent", not_before=date(2025, 2, 1)
                )
            ],
        )
    )
    assert result.daily_burn == D("10.00")
    assert [d.date for d in result.days] == [TODAY + timedelta(days=k) for k in range(1, 21)]
    by_date = {d.date: d for d in result.days}
    assert by_date[date(2025, 1, 20)].expected_income == D("2000.00")
    assert by_date[date(2025, 1, 20)].notes == ("+2000.00 Salary",)
    assert by_date[date(2025, 2, 1)].scheduled_outflows == D("1500.00")
    assert by_date[date(2025, 2, 1)].expected_expenses == D("1510.00")
    assert by_date[date(2025, 1, 19)].projected_balance == D("1000.00") - 4 * D("10.00")
    assert result.ending_balance == D("1000.00") + D("2000.00") - D("1500.00") - 20 * D("10.00")
    assert result.total_income == D("2000.00") and result.total_expenses == D("1700.00")


def test_warning_dates_are_the_first_day_of_each_run_below_the_threshold() -> None:
    result = project(
        inp(
            days=40,
            starting_balance=D("250.00"),
            threshold=D("100.00"),
            burn_totals={"USD": D("300.00")},
            incomes=[Schedule(D("200.00"), "USD", date(2025, 2, 1))],
        )
    )
    below = [d.date for d in result.days if d.below_threshold]
    assert below[0] == date(2025, 1, 31)  # 250 - 16 * 10 = 90
    assert date(2025, 2, 1) not in below  # 90 + 200 - 10 = 280
    assert result.warning_dates == (date(2025, 1, 31), date(2025, 2, 20))
    assert result.lowest is not None and result.lowest.date == date(2025, 2, 24)


def test_a_start_below_the_threshold_warns_on_the_first_day() -> None:
    result = project(inp(days=3, starting_balance=D("-5.00")))
    assert result.warning_dates == (TODAY + timedelta(days=1),)


def test_other_currencies_are_totalled_apart_and_never_converted() -> None:
    result = project(
        inp(
            days=30,
            burn_totals={"USD": D("30.00"), "EUR": D("60.00")},
            incomes=[Schedule(D("100.00"), "EUR", date(2025, 1, 20))],
            outflows=[Schedule(D("7.00"), "EUR", date(2025, 1, 1), Frequency.WEEKLY)],
        )
    )
    assert result.ending_balance == D("1000.00") - D("30.00")
    (eur,) = result.other_currencies
    assert eur.currency == "EUR" and eur.daily_burn == D("2.00")
    assert eur.expected_income == D("100.00")
    assert eur.expected_expenses == D("60.00") + 4 * D("7.00")  # 22, 29 Jan, 5, 12 Feb


def test_the_horizon_is_one_to_365_days() -> None:
    for days in (0, 366):
        with pytest.raises(Invalid) as exc:
            project(inp(days=days))
        assert field_of(exc) == "days"
    assert len(project(inp(days=365)).days) == 365


amounts = st.decimals(min_value=D("0"), max_value=D("100000"), places=2)
currencies = st.sampled_from(["USD", "JPY", "KWD"])


def schedules(currency: str) -> st.SearchStrategy[Schedule]:
    return st.builds(
        Schedule,
        amount=st.decimals(min_value=D("0.01"), max_value=D("50000"), places=2),
        currency=st.just(currency),
        start=st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 6, 1)),
        frequency=st.none() | st.sampled_from(list(Frequency)),
        inflation_rate=st.sampled_from([D(0), D("0.03"), D("0.125")]),
        label=st.just("x"),
    )


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    currency=currencies,
    days=st.integers(1, 365),
    window=st.integers(1, 90),
    burn=st.decimals(min_value=D("0"), max_value=D("1000000"), places=4),
)
def test_no_money_is_created_or_lost_by_rounding(data, currency, days, window, burn) -> None:
    """Every figure is an exact sum of the occurrences and of the once-rounded cumulative burn."""
    incomes = data.draw(st.lists(schedules(currency), max_size=4))
    outflows = data.draw(st.lists(schedules(currency), max_size=4))
    start = quantize(data.draw(amounts), currency)
    result = project(
        inp(
            currency=currency,
            days=days,
            starting_balance=start,
            burn_totals={currency: burn},
            burn_window_days=window,
            incomes=incomes,
            outflows=outflows,
        )
    )
    first, last = TODAY + timedelta(days=1), TODAY + timedelta(days=days)
    expected_in = sum((a for s in incomes for _, a in expected_incomes(s, first, last)), D(0))
    expected_out = sum((a for s in outflows for _, a in expand(s, first, last)), D(0))
    burned = sum((d.burn for d in result.days), D(0))

    assert burned == quantize(burn * days / window, currency)  # rounded once over the horizon
    assert result.total_income == expected_in
    assert sum((d.scheduled_outflows for d in result.days), D(0)) == expected_out
    assert result.ending_balance == start + expected_in - expected_out - burned
    unit = D(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[currency])
    balance = start
    for day in result.days:
        figures = (day.expected_income, day.burn, day.scheduled_outflows, day.expected_expenses, day.projected_balance)
        assert {f.as_tuple().exponent for f in figures} == {unit.as_tuple().exponent}  # shown as is, to the unit
        assert abs(day.burn - burn / window) <= unit  # each day within one minor unit of the exact average
        assert day.projected_balance == balance + day.expected_income - day.expected_expenses
        balance = day.projected_balance


@given(
    total=st.decimals(min_value=D("0"), max_value=D("99999999"), places=4),
    window=st.integers(1, 365),
    days=st.integers(1, 365),
)
def test_a_full_window_of_burn_spends_exactly_the_window_total(total, window, days) -> None:
    assert cumulative_burn(total, window, window, "USD") == quantize(total, "USD")
    parts = [
        cumulative_burn(total, window, k, "USD") - cumulative_burn(total, window, k - 1, "USD")
        for k in range(1, days + 1)
    ]
    assert sum(parts, D(0)) == cumulative_burn(total, window, days, "USD")
    assert all(p >= 0 for p in parts)
