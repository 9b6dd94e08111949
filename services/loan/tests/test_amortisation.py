"""Amortisation tables against hand-checked and published figures, and properties that hold for any loan."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_loan.amortisation import (
    Compounding,
    EmiFrequency,
    InterestType,
    Method,
    PrepaymentMode,
    Terms,
    annuity_payment,
    due_date,
    periodic_rate,
    regenerate,
    schedule,
)

D = Decimal


def terms(**kw: object) -> Terms:
    values: dict[str, object] = {
        "principal": D("100000"),
        "annual_rate": D("12"),
        "interest_type": InterestType.COMPOUND,
        "compounding": Compounding.MONTHLY,
        "method": Method.REDUCING,
        "frequency": EmiFrequency.MONTHLY,
        "instalments": 12,
        "start_date": date(2026, 1, 15),
        "currency": "USD",
    }
    values.update(kw)
    return Terms(**values)


def test_published_annuity_example_100000_at_12_percent_over_12_months() -> None:
    """EMI = P*r*(1+r)^n/((1+r)^n-1) with P=100,000, r=1 %, n=12 → 8,884.88 (the standard worked example,
    e.g. https://en.wikipedia.org/wiki/Equated_monthly_installment and any bank EMI calculator: total
    interest 6,618.53). Rows 1, 2 and 12 checked by hand: 1,000.00 / 921.15 / 87.97 interest."""
    rows = schedule(terms())
    assert [r.total for r in rows[:-1]] == [D("8884.88")] * 11
    assert (rows[0].interest, rows[0].principal, rows[0].balance_after) == (D("1000.00"), D("7884.88"), D("92115.12"))
    assert (rows[1].interest, rows[1].principal) == (D("921.15"), D("7963.73"))
    assert (rows[-1].interest, rows[-1].principal, rows[-1].total) == (D("87.97"), D("8796.88"), D("8884.85"))
    assert sum(r.principal for r in rows) == D("100000")
    assert sum(r.interest for r in rows) == D("6618.53")
    assert rows[-1].balance_after == 0


def test_rates_per_period() -> None:
    assert periodic_rate(D("12"), InterestType.SIMPLE, Compounding.ANNUAL, 12) == D("0.01")
    assert periodic_rate(D("12"), InterestType.COMPOUND, Compounding.MONTHLY, 12) == D("0.01")
    # 12 % compounded annually, paid monthly: 1.12^(1/12) - 1 = 0.948879 %
    assert round(periodic_rate(D("12"), InterestType.COMPOUND, Compounding.ANNUAL, 12), 8) == D("0.00948879")
    # 12 % compounded monthly, paid quarterly: 1.01^3 - 1 = 3.0301 %
    assert periodic_rate(D("12"), InterestType.COMPOUND, Compounding.MONTHLY, 4) == D("0.030301")
    assert periodic_rate(D("12"), InterestType.NONE, Compounding.MONTHLY, 12) == 0


def test_flat_rate_charges_interest_on_the_original_principal() -> None:
    """12,000 flat 10 %/yr over 12 months: 1,200 interest, 100 a month, principal 1,000 a month."""
    rows = schedule(terms(principal=D("12000"), annual_rate=D("10"), method=Method.FLAT))
    assert {r.interest for r in rows} == {D("100.00")}
    assert {r.total for r in rows} == {D("1100.00")}
    assert sum(r.principal for r in rows) == D("12000")


def test_interest_free_split_leaves_the_rounding_to_the_last_instalment() -> None:
    rows = schedule(terms(principal=D("1000"), interest_type=InterestType.NONE, instalments=3))
    assert [r.total for r in rows] == [D("333.33"), D("333.33"), D("333.34")]


def test_zero_decimal_currency() -> None:
    rows = schedule(terms(principal=D("100000"), currency="JPY", instalments=7))
    assert all(r.interest == r.interest.to_integral_value() for r in rows)
    assert sum(r.principal for r in rows) == D("100000")


def test_due_dates_follow_the_emi_day_and_clamp_month_ends() -> None:
    assert due_date(date(2026, 1, 10), EmiFrequency.MONTHLY, 1, 31) == date(2026, 2, 28)
    assert due_date(date(2026, 1, 10), EmiFrequency.MONTHLY, 2, 31) == date(2026, 3, 31)
    assert due_date(date(2026, 1, 31), EmiFrequency.QUARTERLY, 1) == date(2026, 4, 30)
    assert due_date(date(2026, 1, 1), EmiFrequency.WEEKLY, 2) == date(2026, 1, 15)
    assert due_date(date(2026, 1, 1), EmiFrequency.BIWEEKLY, 2) == date(2026, 1, 29)


def test_prepayment_lower_instalment_keeps_the_term() -> None:
    t = terms()
    rows = schedule(t)
    # after instalment 6, 20,000 prepaid off the 51,492.09 still owed
    balance = rows[5].balance_after - D("20000")
    again = regenerate(t, balance, 7, rows[6:], PrepaymentMode.REDUCE_EMI)
    assert [r.number for r in again] == [7, 8, 9, 10, 11, 12]
    assert again[0].total == annuity_payment(balance, D("0.01"), 6, "USD") == D("5433.91")
    assert sum(r.principal for r in again) == balance


def test_prepayment_shorter_term_keeps_the_instalment() -> None:
    t = terms()
    rows = schedule(t)
    balance = rows[5].balance_after - D("20000")
    again = regenerate(t, balance, 7, rows[6:], PrepaymentMode.REDUCE_TERM)
    assert len(again) == 4
    assert {r.total for r in again[:-1]} == {D("8884.88")}
    assert sum(r.principal for r in again) == balance


def test_flat_prepayment_shorter_term_drops_the_later_interest() -> None:
    t = terms(principal=D("12000"), annual_rate=D("10"), method=Method.FLAT)
    rows = schedule(t)
    again = regenerate(t, D("3000"), 7, rows[6:], PrepaymentMode.REDUCE_TERM)
    assert [(r.principal, r.interest) for r in again] == [(D("1000.00"), D("100.00"))] * 3


def test_schedule_of_360_instalments() -> None:
    rows = schedule(terms(principal=D("250000"), annual_rate=D("7.5"), instalments=360))
    assert len(rows) == 360
    assert rows[0].total == D("1748.04")
    assert sum(r.principal for r in rows) == D("250000")


@settings(max_examples=150, deadline=None)
@given(
    principal=st.decimals(min_value=D("1"), max_value=D("10000000"), places=2),
    rate=st.decimals(min_value=D("0"), max_value=D("100"), places=2),
    n=st.integers(min_value=1, max_value=120),
    kind=st.sampled_from(list(InterestType)),
    method=st.sampled_from(list(Method)),
    compounding=st.sampled_from(list(Compounding)),
    frequency=st.sampled_from(list(EmiFrequency)),
)
def test_principal_is_never_created_or_lost(
    principal: Decimal,
    rate: Decimal,
    n: int,
    kind: InterestType,
    method: Method,
    compounding: Compounding,
    frequency: EmiFrequency,
) -> None:
    t = terms(
        principal=principal,
        annual_rate=rate,
        instalments=n,
        interest_type=kind,
        method=method,
        compounding=compounding,
        frequency=frequency,
    )
    rows = schedule(t)
    assert sum(r.principal for r in rows) == principal
    assert all(r.principal >= 0 and r.interest >= 0 for r in rows)
    assert rows[-1].balance_after == 0
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))


@settings(max_examples=100, deadline=None)
@given(
    principal=st.decimals(min_value=D("100"), max_value=D("1000000"), places=2),
    rate=st.decimals(min_value=D("0"), max_value=D("40"), places=2),
    n=st.integers(min_value=2, max_value=60),
    cut=st.integers(min_value=1, max_value=59),
    share=st.decimals(min_value=D("0.01"), max_value=D("1"), places=2),
    mode=st.sampled_from(list(PrepaymentMode)),
    method=st.sampled_from(list(Method)),
)
def test_regenerated_schedule_repays_exactly_the_balance(
    principal: Decimal, rate: Decimal, n: int, cut: int, share: Decimal, mode: PrepaymentMode, method: Method
) -> None:
    t = terms(principal=principal, annual_rate=rate, instalments=n, method=method)
    rows = schedule(t)
    cut = min(cut, len(rows) - 1)
    balance = (rows[cut - 1].balance_after * (1 - share)).quantize(D("0.01"))
    again = regenerate(t, balance, cut + 1, rows[cut:], mode)
    assert sum(r.principal for r in again) == balance
    assert len(again) <= len(rows) - cut
    assert all(r.principal >= 0 for r in again)


def test_bad_terms_are_refused() -> None:
    with pytest.raises(ValueError):
        schedule(terms(instalments=0))
    with pytest.raises(ValueError):
        schedule(terms(principal=D("0")))
