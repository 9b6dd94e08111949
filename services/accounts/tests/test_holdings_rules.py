"""What a loan payment and an investment transaction do to their linked account (pure rules)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pfms_accounts.holdings import holding_change, loan_change

D = Decimal
money = st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False)


def test_a_payment_moves_the_loan_toward_zero_by_the_principal() -> None:
    assert loan_change("borrowed", D("200"), "USD") == D("200.00")  # owed -1000 → -800
    assert loan_change("lent", D("200"), "USD") == D("-200.00")  # owed to the person 1000 → 800
    assert loan_change("borrowed", D("0.125"), "USD") == D("0.12")  # half-even to the cent
    assert loan_change("borrowed", D("12.5"), "JPY") == D("12")


def test_each_transaction_type_moves_the_book_value() -> None:
    assert holding_change("buy", D("300"), D("1.50"), D("0.25"), "USD") == D("301.75")
    assert holding_change("transfer_in", D("50"), D(0), D(0), "USD") == D("50.00")
    assert holding_change("sell", D("120"), D("1"), D("0.50"), "USD") == D("-118.50")
    assert holding_change("transfer_out", D("50"), D(0), D(0), "USD") == D("-50.00")
    assert holding_change("dividend", D("10"), D(0), D("1.50"), "USD") == D("8.50")
    assert holding_change("fee", D("4"), D(0), D(0), "USD") == D("-4.00")
    assert holding_change("split", D(0), D(0), D(0), "USD") == 0
    assert holding_change("buy", D("300.015"), D(0), D(0), "USD") == D("300.02")  # 3 x 100.005, half-even


@given(amount=money, fees=money, tax=money)
def test_a_buy_sold_for_what_it_cost_nets_the_costs_both_ways(amount: Decimal, fees: Decimal, tax: Decimal) -> None:
    bought = holding_change("buy", amount, fees, tax, "USD")
    sold = holding_change("sell", amount, fees, tax, "USD")
    assert bought >= 0
    assert bought == bought.quantize(D("0.01")) and sold == sold.quantize(D("0.01"))
    assert abs((bought + sold) - 2 * (fees + tax)) <= D("0.01")  # each rounded at most half a cent
