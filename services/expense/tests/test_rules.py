"""Pure rules: budget periods and thresholds, schedules with inflation, habits, categories, amounts."""

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_expense import budgets, categories, habits, money, schedules
from pfms_expense.budgets import BudgetPeriod, Period
from pfms_expense.habits import StatsPeriod
from pfms_finance.recurrence import Frequency

D = Decimal


# Budget periods


def test_monthly_periods_anchor_on_the_start_day_and_clamp_month_ends() -> None:
    start = date(2026, 1, 31)
    assert budgets.period_containing(BudgetPeriod.MONTHLY, start, None, date(2026, 2, 10)) == Period(
        date(2026, 1, 31), date(2026, 2, 27)
    )
    assert budgets.period_containing(BudgetPeriod.MONTHLY, start, None, date(2026, 2, 28)) == Period(
        date(2026, 2, 28), date(2026, 3, 30)
    )
    assert budgets.period_containing(BudgetPeriod.MONTHLY, start, None, date(2026, 3, 31)) == Period(
        date(2026, 3, 31), date(2026, 4, 29)
    )


def test_calendar_months_weeks_years_custom_and_outside() -> None:
    first = date(2026, 1, 1)
    assert budgets.period_containing(BudgetPeriod.MONTHLY, first, None, date(2026, 2, 28)) == Period(
        date(2026, 2, 1), date(2026, 2, 28)
    )
    assert budgets.period_containing(BudgetPeriod.WEEKLY, date(2026, 1, 5), None, date(2026, 1, 14)) == Period(
        date(2026, 1, 12), date(2026, 1, 18)
    )
    assert budgets.period_containing(BudgetPeriod.YEARLY, date(2024, 2, 29), None, date(2025, 3, 1)) == Period(
        date(2025, 2, 28), date(2026, 2, 27)
    )
    trip = (date(2026, 7, 1), date(2026, 7, 14))
    assert budgets.period_containing(BudgetPeriod.CUSTOM, *trip, date(2026, 7, 3)) == Period(*trip)
    assert budgets.period_containing(BudgetPeriod.CUSTOM, *trip, date(2026, 7, 15)) is None
    assert budgets.period_containing(BudgetPeriod.MONTHLY, first, None, date(2025, 12, 31)) is None
    assert budgets.period_containing(BudgetPeriod.MONTHLY, first, date(2026, 1, 20), date(2026, 1, 10)) == Period(
        first, date(2026, 1, 20)
    ), "an end date cuts the last period short"


@given(
    st.sampled_from([BudgetPeriod.WEEKLY, BudgetPeriod.MONTHLY, BudgetPeriod.YEARLY]),
    st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    st.integers(0, 3000),
)
def test_periods_tile_the_calendar_without_gaps_or_overlaps(kind, start, offset) -> None:
    day = start + timedelta(days=offset)
    period = budgets.period_containing(kind, start, None, day)
    assert period is not None and day in period
    following = budgets.period_containing(kind, start, None, period.end + timedelta(days=1))
    assert following is not None and following.start == period.end + timedelta(days=1)
    previous = budgets.previous_period(kind, start, period)
    assert previous is None or previous.end == period.start - timedelta(days=1)


def test_status_percentages_and_rollover() -> None:
    state = budgets.status(D("500"), D("412.345"), "USD", budgets.rollover(D("500"), D("450")))
    assert (state.available, state.spent, state.remaining, state.rollover_amount) == (
        D("550.00"),
        D("412.34"),
        D("137.66"),
        D("50.00"),
    )
    assert state.percent_used == D("74.97")
    assert budgets.rollover(D("100"), D("180")) == 0, "an overspend is not carried as debt"
    assert budgets.percent_used(D("1"), D("3")) == D("33.33")
    assert budgets.percent_used(D("0"), D("0")) == D("0.00")


def test_thresholds_reached_compare_exactly() -> None:
    assert budgets.reached([50, 80, 100], D("79.99"), D("100")) == [50]
    assert budgets.reached([100, 80, 50, 80], D("80"), D("100")) == [50, 80]
    # 79.996 % rounds to 80.00 for display, but 80 % is not reached until it really is.
    assert budgets.reached([80], D("79.996"), D("100")) == []
    assert budgets.reached([150], D("151"), D("100")) == [150]


@given(st.decimals(D("0.01"), D("1000000"), places=2), st.decimals(D("0"), D("2000000"), places=4))
def test_remaining_plus_spent_is_what_was_available(amount, spent) -> None:
    state = budgets.status(amount, spent, "USD")
    assert state.remaining + state.spent == state.available


# Recurring schedules


def test_due_occurrences_clamp_month_ends_and_catch_up() -> None:
    start = date(2026, 1, 31)
    assert schedules.due(start, Frequency.MONTHLY, start, date(2026, 4, 1), None) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
    ]
    leap = schedules.due(date(2024, 1, 31), Frequency.MONTHLY, date(2024, 2, 29), date(2024, 3, 31), None)
    assert leap == [date(2024, 2, 29), date(2024, 3, 31)]
    assert schedules.due(start, Frequency.MONTHLY, date(2026, 5, 31), date(2026, 5, 30), None) == []
    weekly = schedules.due(date(2026, 3, 1), Frequency.WEEKLY, date(2026, 3, 1), date(2026, 3, 29), date(2026, 3, 20))
    assert weekly == [date(2026, 3, 1), date(2026, 3, 8), date(2026, 3, 15)], "stops at the end date"


def test_following_and_first_due() -> None:
    assert schedules.following(date(2026, 1, 31), Frequency.MONTHLY, date(2026, 2, 28), None) == date(2026, 3, 31)
    assert schedules.following(date(2026, 1, 1), Frequency.QUARTERLY, date(2026, 1, 1), date(2026, 3, 31)) is None
    assert schedules.first_due(date(2026, 1, 15), Frequency.BIWEEKLY, None, not_before=date(2026, 2, 1)) == date(
        2026, 2, 12
    )
    assert schedules.first_due(date(2026, 1, 15), Frequency.DAILY, None) == date(2026, 1, 15)


def test_inflation_applies_once_per_full_year_and_rounds_once() -> None:
    start = date(2024, 3, 15)
    assert schedules.amount_on(D("100"), D("0.03"), start, date(2025, 3, 14), "USD") == D("100.00")
    assert schedules.amount_on(D("100"), D("0.03"), start, date(2025, 3, 15), "USD") == D("103.00")
    assert schedules.amount_on(D("100"), D("0.03"), start, date(2027, 3, 15), "USD") == D("109.27")
    assert schedules.amount_on(D("999"), D("0.025"), start, date(2026, 4, 1), "JPY") == D("1050")
    assert schedules.full_years(date(2024, 2, 29), date(2025, 2, 28)) == 1
    assert schedules.full_years(date(2024, 2, 29), date(2028, 2, 28)) == 3


def test_reminders_once_per_due_date_within_the_window() -> None:
    due = date(2026, 3, 10)
    assert schedules.remind(due, 3, date(2026, 3, 7), None)
    assert not schedules.remind(due, 3, date(2026, 3, 6), None), "too early"
    assert not schedules.remind(due, 3, date(2026, 3, 8), due), "already reminded for this date"
    assert schedules.remind(due, 3, date(2026, 3, 8), date(2026, 2, 10))
    assert not schedules.remind(due, 0, date(2026, 3, 10), None), "0 turns reminders off"


# Habits


def test_habit_costs_buckets_and_progress() -> None:
    assert habits.log_cost(D("0.35"), 3, "USD") == D("1.05")
    assert habits.log_cost(D("1.005"), 1, "USD") == D("1.00"), "banker's rounding"
    logs = [(date(2026, 3, 2), 4, D("4.00")), (date(2026, 3, 4), 2, D("2.00")), (date(2026, 3, 17), 1, D("1.00"))]
    weeks = habits.buckets(logs, StatsPeriod.WEEK, date(2026, 3, 2), date(2026, 3, 18))
    assert [(b.start, b.quantity) for b in weeks] == [
        (date(2026, 3, 2), 6),
        (date(2026, 3, 9), 0),
        (date(2026, 3, 16), 1),
    ]
    months = habits.buckets(logs, StatsPeriod.MONTH, date(2025, 12, 20), date(2026, 3, 18))
    assert [b.start for b in months] == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert habits.observed_baseline(weeks[:-1]) == D(3)
    progress = habits.progress(D(3), 1, 50)
    assert (progress.reduction_percent, progress.on_track) == (D("66.67"), True)
    assert habits.progress(D(10), 8, 50).on_track is False
    assert habits.progress(None, 3, 20).reduction_percent is None
    assert habits.baseline_for(StatsPeriod.MONTH, D(12)) == D(52)


# Categories and amounts


def test_default_tree_and_nesting_rules() -> None:
    user = uuid.uuid4()
    rows = categories.default_rows(user)
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names)), "names are unique per user"
    parent_of = {r["id"]: r["parent_category_id"] for r in rows}
    food = next(r["id"] for r in rows if r["name"] == "Food & Dining")
    below = {r["name"] for r in rows if r["id"] in categories.descendants(parent_of, food)}
    assert below == {"Food & Dining", "Groceries", "Restaurants", "Coffee & Snacks"}
    groceries = next(r["id"] for r in rows if r["name"] == "Groceries")
    assert categories.creates_cycle(parent_of, food, groceries)
    assert not categories.creates_cycle(parent_of, groceries, food)
    # What a purge keeps of a deleted member's tree: the categories space rows use, and their parents.
    coffee = next(r["id"] for r in rows if r["name"] == "Coffee & Snacks")
    kept = {r["name"] for r in rows if r["id"] in categories.with_ancestors({groceries, coffee}, parent_of)}
    assert kept == {"Food & Dining", "Groceries", "Coffee & Snacks"}
    assert categories.with_ancestors(set(), parent_of) == set()
    assert categories.with_ancestors({uuid.uuid4()}, parent_of) == set(), "another person's category: not in the tree"


@pytest.mark.parametrize(
    ("amount", "currency", "problem"),
    [
        ("0", "USD", "greater than zero"),
        ("-1", "USD", "greater than zero"),
        ("12.345", "USD", "2 decimals"),
        ("1.5", "JPY", "0 decimals"),
        ("1000000000000000", "USD", "below"),
        ("NaN", "USD", "finite"),
    ],
)
def test_amounts_refused(amount, currency, problem) -> None:
    with pytest.raises(ValueError, match=problem):
        money.check_amount(D(amount), currency)


def test_amounts_accepted() -> None:
    assert money.check_amount(D("12.300"), "USD") == D("12.300")
    assert money.check_amount(D("1.234"), "KWD") == D("1.234")
    assert money.check_amount(D("100"), "JPY") == D("100")
