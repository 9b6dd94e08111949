"""Hand-checked worked examples of the calculation, bracket edges, capital gains and the breakdown."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_tax.domain import Calculation, Deduction, Gain, Income, calculate, classify, is_long_term
from pfms_tax.regimes import Regime, find

D = Decimal


def regime(country: str, year: int) -> Regime:
    found = find(country, year)
    assert found is not None
    return found


def wages(*amounts: str, withheld: str = "0") -> list[Income]:
    return [Income(D(a), D(withheld), "salary") for a in amounts]


def long_gain(amount: str, year: int = 2024) -> Gain:
    return Gain(D(amount), date(year - 2, 3, 1), date(year, 3, 1))


def short_gain(amount: str, year: int = 2024) -> Gain:
    return Gain(D(amount), date(year, 1, 2), date(year, 6, 1))


def us(year: int, status: str, income: list[Income], gains: list[Gain] = (), deductions=(), dependents: int = 0):  # type: ignore[assignment]
    return calculate(regime("US", year), status, dependents, income, classify(gains, 12), deductions)


def lines(result: Calculation) -> list[tuple[str, str, str]]:
    return [(line.kind, str(line.rate), str(line.tax)) for line in result.brackets]


def test_single_2024_75k_of_wages() -> None:
    # taxable 75,000 - 14,600 = 60,400: 11,600 x 10 % + 35,550 x 12 % + 13,250 x 22 %
    r = us(2024, "single", wages("75000.00"))
    assert r.taxable_income == D("60400.00")
    assert lines(r) == [("income", "0.10", "1160.00"), ("income", "0.12", "4266.00"), ("income", "0.22", "2915.00")]
    assert r.tax_owed == D("8341.00")
    assert (r.marginal_rate, r.effective_rate) == (D("0.22"), D("0.1112"))


def test_exactly_on_a_bracket_edge_the_next_unit_pays_the_upper_rate() -> None:
    r = us(2024, "single", wages("26200"))  # taxable exactly 11,600: the top of the 10 % bracket
    assert r.taxable_income == 11600 and r.tax_owed == D("1160.00")
    assert r.marginal_rate == D("0.12")
    one_more = us(2024, "single", wages("26201"))
    assert one_more.tax_owed == D("1160.12")


def test_married_joint_2025_at_the_top_of_the_12_percent_bracket() -> None:
    # 128,450 - 31,500 = 96,950: Rev. Proc. 2024-40 "$11,157 plus 22 % of the excess over $96,950"
    r = us(2025, "married_joint", wages("100000", "28450"))
    assert r.taxable_income == 96950
    assert r.tax_owed == D("11157.00")
    assert r.marginal_rate == D("0.22")


def test_qualifying_surviving_spouse_uses_the_joint_schedule() -> None:
    a = us(2025, "qualifying_surviving_spouse", wages("128450"))
    assert a.tax_owed == D("11157.00") and a.standard_deduction == 31500


def test_head_of_household_2024_with_two_children() -> None:
    # 100,000 - 21,900 = 78,100: 1,655 + 46,550 x 12 % (5,586) + 15,000 x 22 % (3,300) = 10,541; 2 x 2,000 credit
    r = us(2024, "head_of_household", wages("100000"), dependents=2)
    assert r.tax_before_credits == D("10541.00")
    assert [(c.name, c.allowed) for c in r.credits] == [("child_tax_credit", D("4000"))]
    assert r.tax_owed == D("6541.00")


def test_married_separate_2024_reaches_the_37_percent_bracket() -> None:
    # 400,000 - 14,600 = 385,400; the 37 % rate starts at 365,600 for married filing separately
    r = us(2024, "married_separate", wages("400000"))
    assert [line.tax for line in r.brackets] == [
        D("1160.00"),
        D("4266.00"),
        D("11742.50"),
        D("21942.00"),
        D("16568.00"),
        D("42656.25"),
        D("7326.00"),
    ]
    assert r.tax_owed == D("105660.75") and r.marginal_rate == D("0.37")


def test_child_tax_credit_phases_out_50_per_1000_or_fraction_above_the_threshold() -> None:
    # AGI 410,500 married joint: 10,500 over 400,000 -> 11 steps of 1,000 (a fraction counts) -> 550 off 4,400
    r = us(2025, "married_joint", wages("410500"), dependents=2)
    assert (r.credits[0].base, r.credits[0].phase_out, r.credits[0].allowed) == (D("4400"), D("550"), D("3850"))


def test_credit_never_exceeds_the_tax() -> None:
    r = us(2024, "single", wages("20000"), dependents=3)  # taxable 5,400: tax 540
    assert r.tax_before_credits == D("540.00") and r.credits[0].allowed == D("540.00") and r.tax_owed == 0


def test_long_term_gains_stack_on_ordinary_income_at_0_15_percent() -> None:
    # 50,000 wages + 5,000 short + 20,000 long = 75,000; taxable 60,400 of which 20,000 is long-term gain.
    # Ordinary 40,400: 1,160 + 28,800 x 12 % = 4,616. Gains from 40,400 to 60,400: 6,625 at 0 % (to 47,025),
    # 13,375 at 15 % = 2,006.25.
    r = us(2024, "single", wages("50000"), [long_gain("20000"), short_gain("5000")])
    assert (r.short_term_gains, r.long_term_gains) == (D("5000"), D("20000"))
    assert (r.ordinary_taxable_income, r.capital_gains_taxable) == (D("40400"), D("20000"))
    assert lines(r) == [
        ("income", "0.10", "1160.00"),
        ("income", "0.12", "3456.00"),
        ("capital_gains", "0", "0.00"),
        ("capital_gains", "0.15", "2006.25"),
    ]
    assert r.capital_gains_tax == D("2006.25") and r.tax_owed == D("6622.25")
    assert (r.marginal_rate, r.capital_gains_marginal_rate) == (D("0.12"), D("0.15"))


def test_long_term_gains_reach_the_20_percent_rate() -> None:
    # 2025 married joint: 600,000 wages + 100,000 long -> taxable 668,500, ordinary 568,500 (138,069.50).
    # Gains 568,500 -> 600,050 at 15 % (4,732.50) and 600,050 -> 668,500 at 20 % (13,690).
    r = us(2025, "married_joint", wages("600000"), [long_gain("100000", 2025)])
    assert r.income_tax == D("138069.50")
    assert [line.tax for line in r.brackets if line.kind == "capital_gains"] == [D("4732.50"), D("13690.00")]
    assert r.tax_owed == D("156492.00")


def test_deductions_use_up_ordinary_income_before_gains() -> None:
    r = us(2024, "single", wages("10000"), [long_gain("30000")])
    # AGI 40,000 - 14,600 = 25,400 taxable, all of it long-term gain inside the 0 % band
    assert (r.ordinary_taxable_income, r.capital_gains_taxable) == (D(0), D("25400"))
    assert r.tax_owed == 0 and r.marginal_rate == D("0.10")


def test_a_net_capital_loss_deducts_at_most_3000_and_reports_the_rest() -> None:
    r = us(2024, "single", wages("60000"), [short_gain("-10000"), long_gain("2000")])
    assert (r.capital_loss_deducted, r.capital_loss_carryover) == (D("3000"), D("5000"))
    assert r.adjusted_gross_income == D("57000") and r.tax_owed == D("4856.00")
    separate = us(2024, "married_separate", wages("60000"), [short_gain("-10000")])
    assert separate.capital_loss_deducted == D("1500")


def test_a_short_term_loss_reduces_the_long_term_gain_first() -> None:
    r = us(2024, "single", wages("60000"), [short_gain("-4000"), long_gain("10000")])
    assert (r.gains_in_ordinary_income, r.gains_at_capital_gains_rates) == (D(0), D("6000"))


def test_held_more_than_one_year_is_long_term() -> None:
    bought = date(2023, 1, 15)
    assert not is_long_term(Gain(D(1), bought, date(2024, 1, 15)), 12)  # exactly a year: short
    assert is_long_term(Gain(D(1), bought, date(2024, 1, 16)), 12)


def test_itemized_deductions_replace_the_standard_one_when_larger_and_caps_apply() -> None:
    deductions = [
        Deduction("mortgage_interest", D("12000")),
        Deduction("state_local_tax", D("15000")),  # capped at 10,000 in 2024
        Deduction("retirement_contribution", D("7000")),  # above the line
        Deduction("holiday", D("500")),  # not a category of the regime
    ]
    r = us(2024, "single", wages("120000"), deductions=deductions)
    assert r.above_the_line_deductions == 7000 and r.adjusted_gross_income == 113000
    assert (r.itemized_deductions, r.deduction_applied) == (D("22000"), "itemized")
    assert r.taxable_income == D("91000") and r.total_deductions == D("29000")
    assert [(c.category, c.kind, c.allowed) for c in r.deductions_by_category] == [
        ("holiday", "not_applicable", D(0)),
        ("mortgage_interest", "itemized", D("12000")),
        ("retirement_contribution", "above_the_line", D("7000")),
        ("state_local_tax", "itemized", D("10000")),
    ]


def test_withholding_gives_the_balance_due_or_refund() -> None:
    r = us(2024, "single", wages("75000", withheld="9000"))
    assert r.tax_withheld == D("9000") and r.balance_due == D("-659.00")


def uk(income: str, gains: list[Gain] = ()) -> Calculation:  # type: ignore[assignment]
    return calculate(regime("GB", 2025), "single", 0, wages(income), classify(gains, 12), [])


def test_uk_2025_26_salary_of_60000() -> None:
    # 60,000 - 12,570 = 47,430: 37,700 x 20 % (7,540) + 9,730 x 40 % (3,892)
    r = uk("60000")
    assert r.tax_owed == D("11432.00") and r.marginal_rate == D("0.40")


def test_uk_personal_allowance_tapers_above_100000_and_is_gone_at_125140() -> None:
    r = uk("110000")  # allowance 12,570 - 5,000 = 7,570; taxable 102,430
    assert r.standard_deduction == D("7570") and r.tax_owed == D("33432.00")
    r = uk("130000")  # no allowance: 7,540 + 87,440 x 40 % (34,976) + 4,860 x 45 % (2,187)
    assert r.standard_deduction == 0 and r.tax_owed == D("44703.00") and r.marginal_rate == D("0.45")


def test_uk_gains_after_the_exempt_amount_fill_the_unused_basic_band_at_18_percent() -> None:
    # income 30,000 -> taxable 17,430; gains 20,000 - 3,000 = 17,000, all inside the 20,270 of basic band left
    r = uk("30000", [short_gain("20000", 2025)])
    assert r.gains_exempt_amount == 3000 and r.capital_gains_taxable == D("17000")
    assert r.capital_gains_tax == D("3060.00")
    r = uk("50000", [long_gain("10000", 2025)])  # taxable 37,430: 270 at 18 %, 6,730 at 24 %
    assert [line.tax for line in r.brackets if line.kind == "capital_gains"] == [D("48.60"), D("1615.20")]


def test_uk_losses_never_reduce_income() -> None:
    r = uk("60000", [short_gain("-5000", 2025)])
    assert r.tax_owed == D("11432.00") and r.capital_loss_carryover == D("5000")


money = st.decimals(min_value=0, max_value=2_000_000, places=2, allow_nan=False, allow_infinity=False)
signed = st.decimals(min_value=-200_000, max_value=500_000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([("US", 2024), ("US", 2025), ("GB", 2025)]),
    st.lists(money, max_size=5),
    st.lists(signed, max_size=4),
    st.integers(0, 4),
)
def test_the_breakdown_explains_every_number(key: tuple[str, int], incomes, gains, dependents) -> None:
    r0 = regime(*key)
    status = "head_of_household" if key[0] == "US" else "single"
    result = calculate(
        r0, status, dependents, wages(*map(str, incomes)), classify([short_gain(str(g), key[1]) for g in gains], 12), []
    )
    assert sum((line.taxed for line in result.brackets), D(0)) == result.taxable_income
    assert sum((line.tax for line in result.brackets), D(0)) == result.tax_before_credits
    assert result.tax_owed == result.tax_before_credits - result.total_credits >= 0
    for line in result.brackets:
        assert line.tax == line.tax.quantize(D("0.01")) and line.taxed >= 0


@settings(max_examples=200, deadline=None)
@given(money, st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False))
def test_more_income_never_means_less_tax(income: Decimal, extra: Decimal) -> None:
    for status in ("single", "married_joint", "married_separate", "head_of_household"):
        low = us(2025, status, wages(str(income)))
        high = us(2025, status, wages(str(income + extra)))
        assert high.tax_owed >= low.tax_owed
