"""Pure rules: symbols and pairs, cross rates, % moves, sampling and the 'last business day' rule."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_market_data.domain import (
    Close,
    Interval,
    age_seconds,
    change_percent,
    cross_rate,
    last_on_or_before,
    normalise_symbol,
    parse_pair,
    plain,
    sample,
)


def test_symbols_are_upper_cased_and_checked() -> None:
    assert normalise_symbol(" aapl ") == "AAPL"
    assert normalise_symbol("brk.b") == "BRK.B"
    for bad in ("", "A B", "x" * 21, "<script>", "AAPL;DROP"):
        with pytest.raises(ValueError):
            normalise_symbol(bad)


def test_pairs_accept_the_usual_spellings() -> None:
    assert parse_pair("EUR-USD") == ("EUR", "USD")
    assert parse_pair("eur/usd") == ("EUR", "USD")
    assert parse_pair("EURUSD") == ("EUR", "USD")
    for bad in ("EUR", "EUR-EUR", "EU-USD", "EUR-US1", "EURUSDX"):
        with pytest.raises(ValueError):
            parse_pair(bad)


def test_cross_rate_worked_example() -> None:
    # ECB 2024-03-28: 1 EUR = 1.0811 USD = 163.45 JPY, so 1 USD = 163.45 / 1.0811 JPY
    assert cross_rate(Decimal("1.0811"), Decimal("163.45")) == Decimal("151.1886041994")
    assert cross_rate(Decimal(1), Decimal("1.0811")) == Decimal("1.0811")


@given(
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100000), places=4),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100000), places=4),
)
def test_cross_rates_round_trip_within_rounding(a: Decimal, b: Decimal) -> None:
    there = cross_rate(a, b)
    back = cross_rate(b, a)
    assert abs(there * back - 1) < Decimal("0.000001") * max(there, back, Decimal(1))


def test_change_percent_rounds_half_even_and_needs_a_base() -> None:
    assert change_percent(Decimal(200), Decimal(201)) == Decimal("0.5000")
    assert change_percent(Decimal(3), Decimal(4)) == Decimal("33.3333")
    assert change_percent(Decimal(8), Decimal("8.0000004")) == Decimal("0.0000")  # 0.000005 → even
    assert change_percent(None, Decimal(1)) is None
    assert change_percent(Decimal(0), Decimal(1)) is None


def test_age_is_never_negative() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 3, 22, 12, tzinfo=UTC)
    assert age_seconds(now - timedelta(seconds=90), now) == 90
    assert age_seconds(now + timedelta(seconds=5), now) == 0


def closes(days: list[date]) -> list[Close]:
    return [Close(d, Decimal(i + 1), "USD") for i, d in enumerate(days)]


def test_sampling_keeps_the_last_close_of_each_period() -> None:
    days = [date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29)]
    series = closes(days)
    assert [c.day for c in sample(series, Interval.month)] == [date(2024, 1, 31), date(2024, 2, 29)]
    assert [c.day for c in sample(series, Interval.week)] == [date(2024, 2, 1), date(2024, 2, 29)]
    assert sample(series, Interval.day) == series


def test_rate_on_a_holiday_is_the_last_business_day_before() -> None:
    series = closes([date(2024, 3, 27), date(2024, 3, 28), date(2024, 4, 2)])  # Good Friday, Easter Monday shut
    good_friday, easter_tuesday = (
        last_on_or_before(series, date(2024, 3, 29)),
        last_on_or_before(series, date(2024, 4, 2)),
    )
    assert good_friday is not None and good_friday.day == date(2024, 3, 28)
    assert easter_tuesday is not None and easter_tuesday.day == date(2024, 4, 2)
    assert last_on_or_before(series, date(2024, 3, 1)) is None


def test_plain_drops_column_padding_without_exponents() -> None:
    assert str(plain(Decimal("172.2800000000"))) == "172.28"
    assert str(plain(Decimal("100.0000000000"))) == "100"
    assert str(plain(Decimal("0.0000012300"))) == "0.00000123"
