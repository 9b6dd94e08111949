from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pfms_finance.recurrence import Frequency, add_months, next_occurrence, occurrence, occurrences


def test_month_ends_clamp_and_recover() -> None:
    start = date(2024, 1, 31)
    got = [occurrence(start, Frequency.MONTHLY, i) for i in range(4)]
    assert got == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert occurrence(date(2023, 1, 31), Frequency.MONTHLY, 1) == date(2023, 2, 28)


def test_leap_day_yearly_and_quarterly() -> None:
    assert occurrence(date(2024, 2, 29), Frequency.YEARLY, 1) == date(2025, 2, 28)
    assert occurrence(date(2024, 2, 29), Frequency.YEARLY, 4) == date(2028, 2, 29)
    assert occurrence(date(2024, 11, 30), Frequency.QUARTERLY, 1) == date(2025, 2, 28)


def test_day_based_frequencies_ignore_dst_and_month_lengths() -> None:
    assert occurrence(date(2024, 3, 1), Frequency.BIWEEKLY, 2) == date(2024, 3, 29)
    assert occurrence(date(2024, 10, 26), Frequency.DAILY, 2) == date(2024, 10, 28)


def test_window_respects_end_date() -> None:
    got = list(
        occurrences(
            date(2024, 1, 15), Frequency.MONTHLY, first=date(2024, 3, 1), last=date(2024, 12, 31), end=date(2024, 5, 15)
        )
    )
    assert got == [date(2024, 3, 15), date(2024, 4, 15), date(2024, 5, 15)]


def test_next_occurrence_is_strictly_after() -> None:
    assert next_occurrence(date(2024, 1, 31), Frequency.MONTHLY, date(2024, 2, 29)) == date(2024, 3, 31)
    assert next_occurrence(date(2024, 1, 1), Frequency.WEEKLY, date(2023, 12, 1)) == date(2024, 1, 1)


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    st.sampled_from(list(Frequency)),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2095, 1, 1)),
)
def test_next_occurrence_is_the_first_one_after(start: date, freq: Frequency, after: date) -> None:
    nxt = next_occurrence(start, freq, after)
    assert nxt > after and nxt >= start
    window = list(occurrences(start, freq, first=after + timedelta(days=1), last=nxt))
    assert window == [nxt]


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 600))
def test_add_months_keeps_the_anchor_day_when_it_exists(anchor: date, months: int) -> None:
    moved = add_months(anchor, months)
    assert moved.day == anchor.day or (moved.day < anchor.day and (moved + timedelta(days=1)).day == 1)
