"""Payment allocation (late fee → interest → principal), accrued interest and overdue rules, hand-checked."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_loan.amortisation import Compounding, InterestType
from pfms_loan.overdue import LateFeeType, days_overdue, is_overdue, late_fee, overdue_since, should_remind
from pfms_loan.payments import Due, Overpaid, accrued_interest, allocate_open, allocate_schedule, apply

D = Decimal
DUES = [
    Due(1, date(2026, 2, 15), D("50.00"), D("1000.00"), D("7884.88")),
    Due(2, date(2026, 3, 15), D("0"), D("921.15"), D("7963.73")),
    Due(3, date(2026, 4, 15), D("0"), D("841.51"), D("8043.37")),
]


def test_partial_payment_pays_the_fee_then_interest_then_principal() -> None:
    a = allocate_schedule(D("1500"), DUES, date(2026, 2, 20), prepay=False, balance=D("100000"))
    assert [(p.number, p.late_fee, p.interest, p.principal) for p in a.parts] == [
        (1, D("50.00"), D("1000.00"), D("450.00"))
    ]
    left = apply(DUES[0], a.parts[0])
    assert (left.late_fee, left.interest, left.principal) == (0, 0, D("7434.88"))


def test_late_payment_smaller_than_the_fee_goes_to_the_fee_only() -> None:
    a = allocate_schedule(D("20"), DUES, date(2026, 2, 20), prepay=False, balance=D("100000"))
    assert (a.late_fee, a.interest, a.principal) == (D("20"), 0, 0)


def test_overpayment_pays_the_next_instalments_ahead() -> None:
    a = allocate_schedule(D("10000"), DUES, date(2026, 2, 15), prepay=False, balance=D("100000"))
    assert [p.number for p in a.parts] == [1, 2]
    assert a.parts[1].interest == D("921.15")
    assert a.parts[1].principal == D("10000") - D("8934.88") - D("921.15")
    assert a.prepaid == 0


def test_prepayment_pays_what_is_due_then_principal() -> None:
    a = allocate_schedule(D("20000"), DUES, date(2026, 2, 20), prepay=True, balance=D("100000"))
    assert [p.number for p in a.parts] == [1, None]
    assert a.prepaid == D("20000") - D("8934.88")
    assert a.total == D("20000")


def test_more_than_is_owed_is_refused() -> None:
    with pytest.raises(Overpaid):
        allocate_schedule(D("99999"), DUES, date(2026, 2, 20), prepay=False, balance=D("23891.98"))
    with pytest.raises(Overpaid):
        allocate_schedule(D("30000"), DUES, date(2026, 2, 20), prepay=True, balance=D("20000"))
    with pytest.raises(Overpaid):
        allocate_open(D("101"), D("1"), D("99"))


def test_open_loan_pays_accrued_interest_first() -> None:
    a = allocate_open(D("500"), D("123.29"), D("10000"))
    assert (a.interest, a.principal) == (D("123.29"), D("376.71"))


def test_accrued_interest_actual_365() -> None:
    # 10,000 at 5 % simple for 90 days: 10,000 x 0.05 x 90/365 = 123.287... → 123.29
    assert accrued_interest(
        D("10000"), D("5"), InterestType.SIMPLE, Compounding.ANNUAL, date(2026, 1, 1), date(2026, 4, 1), "USD"
    ) == D("123.29")
    # 10,000 at 12 % compounded monthly for 365 days: 10,000 x (1.01^12 - 1) = 1,268.25
    assert accrued_interest(
        D("10000"), D("12"), InterestType.COMPOUND, Compounding.MONTHLY, date(2025, 1, 1), date(2026, 1, 1), "USD"
    ) == D("1268.25")
    assert (
        accrued_interest(
            D("10000"), D("12"), InterestType.NONE, Compounding.MONTHLY, date(2025, 1, 1), date(2026, 1, 1), "USD"
        )
        == 0
    )


def test_overdue_only_after_the_grace_period() -> None:
    due = date(2026, 3, 10)
    assert not is_overdue(due, 3, date(2026, 3, 13))
    assert is_overdue(due, 3, date(2026, 3, 14))
    assert is_overdue(due, 0, date(2026, 3, 11))
    assert not is_overdue(due, 0, due)
    assert overdue_since(due, 3) == date(2026, 3, 14)
    assert days_overdue(due, date(2026, 3, 14)) == 4
    assert days_overdue(due, date(2026, 3, 1)) == 0


def test_late_fees_fixed_or_percent_of_the_instalment() -> None:
    assert late_fee(LateFeeType.FIXED, D("25"), D("8884.88"), "USD") == D("25.00")
    # 2 % of 8,884.88 = 177.6976 → 177.70
    assert late_fee(LateFeeType.PERCENT, D("2"), D("8884.88"), "USD") == D("177.70")
    assert late_fee(LateFeeType.PERCENT, D("2"), D("8884"), "JPY") == D("178")


def test_reminder_window() -> None:
    due = date(2026, 3, 10)
    assert not should_remind(due, 3, date(2026, 3, 6))
    assert should_remind(due, 3, date(2026, 3, 7))
    assert should_remind(due, 3, due)
    assert not should_remind(due, 3, date(2026, 3, 11))


money = st.decimals(min_value=D("0"), max_value=D("100000"), places=2)


@settings(max_examples=200, deadline=None)
@given(
    owed=st.lists(st.tuples(money, money, money), min_size=1, max_size=8),
    share=st.decimals(min_value=D("0.01"), max_value=D("1"), places=2),
    prepay=st.booleans(),
    extra=money,
)
def test_allocations_sum_to_the_payment_and_never_exceed_what_is_owed(
    owed: list[tuple[Decimal, Decimal, Decimal]], share: Decimal, prepay: bool, extra: Decimal
) -> None:
    dues = [Due(i + 1, date(2026, 1, 1), f, n, p) for i, (f, n, p) in enumerate(owed)]
    scheduled = sum(d.principal for d in dues)
    balance = scheduled + extra
    owed_total = sum(d.total for d in dues) + (extra if prepay else 0)
    amount = (owed_total * share).quantize(D("0.01"))
    if amount <= 0:
        return
    a = allocate_schedule(amount, dues, date(2026, 1, 1), prepay=prepay, balance=balance)
    assert a.total == amount
    assert a.principal <= balance
    by_number = {d.number: d for d in dues}
    for part in a.parts:
        if part.number is not None:
            left = apply(by_number[part.number], part)
            assert min(left.late_fee, left.interest, left.principal) >= 0
