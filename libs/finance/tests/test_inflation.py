from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pfms_finance.inflation import completed_years, inflated_amount


def test_years_step_on_the_anniversary() -> None:
    start = date(2024, 3, 15)
    assert completed_years(start, date(2025, 3, 14)) == 0
    assert completed_years(start, date(2025, 3, 15)) == 1
    assert completed_years(start, date(2027, 1, 1)) == 2
    assert completed_years(start, date(2023, 1, 1)) == 0


def test_leap_day_anniversary_is_28_february_in_common_years() -> None:
    start = date(2024, 2, 29)
    assert completed_years(start, date(2025, 2, 27)) == 0
    assert completed_years(start, date(2025, 2, 28)) == 1
    assert completed_years(start, date(2028, 2, 28)) == 3
    assert completed_years(start, date(2028, 2, 29)) == 4


def test_amount_compounds_once_per_year_and_rounds_once() -> None:
    start = date(2024, 1, 31)
    assert inflated_amount(Decimal("1000"), Decimal("0.03"), start, date(2024, 12, 31), "USD") == Decimal("1000.00")
    assert inflated_amount(Decimal("1000"), Decimal("0.03"), start, date(2025, 1, 31), "USD") == Decimal("1030.00")
    assert inflated_amount(Decimal("1000"), Decimal("0.03"), start, date(2026, 2, 1), "USD") == Decimal("1060.90")
    assert inflated_amount(Decimal("999.99"), Decimal("0.025"), start, date(2027, 6, 1), "JPY") == Decimal("1077")
    assert inflated_amount(Decimal("10.005"), Decimal(0), start, date(2030, 1, 1), "USD") == Decimal("10.00")


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2080, 1, 1)), st.integers(0, 20000))
def test_years_never_decrease(start: date, offset: int) -> None:
    day = start + timedelta(days=offset)
    assert completed_years(start, day) <= completed_years(start, day + timedelta(days=1))
    assert offset // 366 <= completed_years(start, day) <= offset // 365
