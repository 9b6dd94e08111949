"""The bundled tables hold the figures their cited sources publish (checked number by number)."""

from datetime import date
from decimal import Decimal

import pytest

from pfms_tax.regimes import Regime, bundled, find, tax_year_of

D = Decimal
STATUSES = {"single", "married_joint", "married_separate", "head_of_household", "qualifying_surviving_spouse"}


def regime(country: str, year: int) -> Regime:
    found = find(country, year)
    assert found is not None
    return found


def thresholds(r: Regime, status: str, kind: str = "income") -> list[Decimal]:
    brackets = getattr(r.schedule(status), kind)
    return [b.lower for b in brackets[1:]]


def rates(r: Regime, status: str, kind: str = "income") -> list[Decimal]:
    return [b.rate for b in getattr(r.schedule(status), kind)]


def test_every_bundled_file_names_a_source_for_each_kind_of_figure() -> None:
    assert {(r.country, r.tax_year) for r in bundled().values()} >= {("US", 2024), ("US", 2025), ("GB", 2025)}
    for r in bundled().values():
        assert {"brackets", "capital_gains", "standard_deduction"} <= r.sources.keys()
        assert all(len(text) > 20 for text in r.sources.values())
        for schedule in r.schedules.values():
            lowers = [b.lower for b in schedule.income]
            assert lowers[0] == 0 and lowers == sorted(lowers)


US_RATES = [D("0.10"), D("0.12"), D("0.22"), D("0.24"), D("0.32"), D("0.35"), D("0.37")]

# Rev. Proc. 2023-34 §3.01 Tables 1-4 (tax year 2024): the lower edge of the 12 % ... 37 % brackets.
US_2024 = {
    "married_joint": [23200, 94300, 201050, 383900, 487450, 731200],
    "qualifying_surviving_spouse": [23200, 94300, 201050, 383900, 487450, 731200],
    "head_of_household": [16550, 63100, 100500, 191950, 243700, 609350],
    "single": [11600, 47150, 100525, 191950, 243725, 609350],
    "married_separate": [11600, 47150, 100525, 191950, 243725, 365600],
}
# Rev. Proc. 2024-40 §2.01 Tables 1-4 (tax year 2025).
US_2025 = {
    "married_joint": [23850, 96950, 206700, 394600, 501050, 751600],
    "qualifying_surviving_spouse": [23850, 96950, 206700, 394600, 501050, 751600],
    "head_of_household": [17000, 64850, 103350, 197300, 250500, 626350],
    "single": [11925, 48475, 103350, 197300, 250525, 626350],
    "married_separate": [11925, 48475, 103350, 197300, 250525, 375800],
}


@pytest.mark.parametrize(("year", "table"), [(2024, US_2024), (2025, US_2025)])
def test_us_ordinary_brackets_match_the_revenue_procedures(year: int, table: dict[str, list[int]]) -> None:
    r = regime("US", year)
    assert set(r.schedules) == STATUSES
    for status, edges in table.items():
        assert thresholds(r, status) == [D(e) for e in edges], status
        assert rates(r, status) == US_RATES


# Rev. Proc. 2023-34 §3.03 and Rev. Proc. 2024-40 §2.03: the top of the 0 % and of the 15 % rate.
US_LTCG = {
    2024: {
        "married_joint": (94050, 583750),
        "qualifying_surviving_spouse": (94050, 583750),
        "married_separate": (47025, 291850),
        "head_of_household": (63000, 551350),
        "single": (47025, 518900),
    },
    2025: {
        "married_joint": (96700, 600050),
        "qualifying_surviving_spouse": (96700, 600050),
        "married_separate": (48350, 300000),
        "head_of_household": (64750, 566700),
        "single": (48350, 533400),
    },
}


@pytest.mark.parametrize("year", [2024, 2025])
def test_us_long_term_gain_breakpoints_match_the_revenue_procedures(year: int) -> None:
    r = regime("US", year)
    for status, (zero_top, fifteen_top) in US_LTCG[year].items():
        assert thresholds(r, status, "capital_gains_long") == [D(zero_top), D(fifteen_top)], status
        assert rates(r, status, "capital_gains_long") == [D(0), D("0.15"), D("0.20")]
        assert r.capital_gains_short(status) == r.schedule(status).income  # short term: ordinary rates


def test_us_standard_deductions_2024_rev_proc_2023_34() -> None:
    r = regime("US", 2024)
    expected = {
        "married_joint": 29200,
        "qualifying_surviving_spouse": 29200,
        "head_of_household": 21900,
        "single": 14600,
        "married_separate": 14600,
    }
    assert {s: r.schedule(s).standard_deduction for s in STATUSES} == {s: D(v) for s, v in expected.items()}


def test_us_standard_deductions_2025_as_enacted_by_public_law_119_21() -> None:
    """Rev. Proc. 2024-40 §2.15 published 15,000 / 30,000 / 22,500; P.L. 119-21 §70102 raised them."""
    r = regime("US", 2025)
    expected = {
        "married_joint": 31500,
        "qualifying_surviving_spouse": 31500,
        "head_of_household": 23625,
        "single": 15750,
        "married_separate": 15750,
    }
    assert {s: r.schedule(s).standard_deduction for s in STATUSES} == {s: D(v) for s, v in expected.items()}
    assert "Rev. Proc. 2024-40 §2.15" in r.sources["standard_deduction"]


def test_us_child_tax_credit_and_loss_limit() -> None:
    assert regime("US", 2024).credits[0].per_dependent == 2000
    assert regime("US", 2025).credits[0].per_dependent == 2200
    for year in (2024, 2025):
        r = regime("US", year)
        assert r.schedule("married_joint").credit_phase_out_start == 400000
        assert r.schedule("single").credit_phase_out_start == 200000
        assert r.schedule("single").capital_loss_limit == 3000
        assert r.schedule("married_separate").capital_loss_limit == 1500


def test_uk_2025_26_rates_bands_and_allowances_match_gov_uk() -> None:
    r = regime("GB", 2025)
    assert (r.period_start.isoformat(), r.period_end.isoformat()) == ("2025-04-06", "2026-04-05")
    single = r.schedule("single")
    assert single.standard_deduction == 12570  # Personal Allowance
    assert thresholds(r, "single") == [D(37700), D(125140)]
    assert rates(r, "single") == [D("0.20"), D("0.40"), D("0.45")]
    assert (r.taper_start, r.taper_rate) == (D(100000), D("0.5"))
    assert rates(r, "single", "capital_gains_long") == [D("0.18"), D("0.24")]
    assert r.gains_exempt_amount == 3000
    assert r.capital_gains_short("single") == single.capital_gains_long


def test_the_tax_year_a_day_falls_in() -> None:
    assert tax_year_of("GB", date(2026, 4, 5)) == 2025
    assert tax_year_of("GB", date(2026, 4, 6)) == 2026  # no bundled 2026/27: the calendar year
    assert tax_year_of("US", date(2024, 12, 31)) == 2024
