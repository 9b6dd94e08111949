"""Ledger rules without I/O: balanced entries, wallet floors, quotes and net worth, with hypothesis properties."""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_accounts import domain
from pfms_accounts.domain import Holding, Leg
from pfms_finance.currency import quantize
from pfms_platform.errors import Invalid


def test_an_entry_needs_two_legs_that_balance_per_currency() -> None:
    with pytest.raises(ValueError, match="two legs"):
        domain.check_balanced([Leg("a", "USD", Decimal(1))])
    with pytest.raises(ValueError, match="balance"):
        domain.check_balanced([Leg("a", "USD", Decimal(1)), Leg("b", "EUR", Decimal(-1))])
    with pytest.raises(ValueError, match="non-zero"):
        domain.check_balanced([Leg("a", "USD", Decimal(0)), Leg("b", "USD", Decimal(0))])
    assert len(domain.transfer_legs("a", "b", "USD", Decimal("5.00"))) == 2


def test_only_wallets_have_a_floor_at_minus_their_overdraft() -> None:
    assert domain.floor("wallet", None) == 0
    assert domain.floor("wallet", Decimal(50)) == Decimal(-50)
    assert domain.floor("checking", None) is None
    assert domain.floor("credit_card", None) is None


def test_a_move_below_the_floor_is_refused_but_one_that_raises_a_low_balance_is_not() -> None:
    legs = domain.transfer_legs("w", "c", "USD", Decimal("10.01"))
    with pytest.raises(Invalid) as raised:
        domain.apply({"w": Decimal(10), "c": Decimal(0)}, legs, {"w": Decimal(0), "c": None})
    assert raised.value.code == "INSUFFICIENT_FUNDS"
    assert raised.value.details[0]["field"] == "amount"
    after = domain.apply(
        {"w": Decimal(-20), "c": Decimal(0)}, domain.transfer_legs("c", "w", "USD", Decimal(5)), {"w": Decimal(0)}
    )
    assert after == {"w": Decimal(-15), "c": Decimal(-5)}


def test_a_quote_takes_the_fee_first_and_rounds_the_bought_amount_down() -> None:
    q = domain.quote(Decimal("100.00"), "USD", "EUR", Decimal("0.923456"), Decimal("0.5"))
    assert q.fee == Decimal("0.50")
    assert q.buy_amount == Decimal("91.88")  # 99.50 * 0.923456 = 91.8838… rounded down
    jpy = domain.quote(Decimal("10.00"), "USD", "JPY", Decimal("151.999"), Decimal(0))
    assert jpy.buy_amount == Decimal("1519")
    with pytest.raises(Invalid):
        domain.quote(Decimal("0.01"), "USD", "JPY", Decimal("0.5"), Decimal(0))


def test_net_worth_is_assets_minus_liabilities_in_the_users_currency() -> None:
    holdings = [
        Holding("USD", Decimal("1000.00")),
        Holding("EUR", Decimal("500.00")),
        Holding("USD", Decimal("-250.00")),  # a credit card owed
        Holding("EUR", Decimal("-100.005")),
    ]
    worth = domain.net_worth(holdings, "USD", {"EUR": Decimal("1.1")})
    assert worth.assets == Decimal("1550.00")
    assert worth.liabilities == Decimal("360.01")  # 250 + 110.0055 → 360.0055, banker's rounding to cents
    assert worth.net_worth == Decimal("1189.99")


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
ACCOUNTS = [("w1", "USD"), ("w2", "USD"), ("w3", "EUR"), ("w4", "EUR"), ("w5", "JPY")]
EXTERNAL = {"USD": "xUSD", "EUR": "xEUR", "JPY": "xJPY"}
moves = st.lists(
    st.tuples(
        st.sampled_from(["transfer", "exchange", "deposit", "withdraw"]),
        st.integers(0, len(ACCOUNTS) - 1),
        st.integers(0, len(ACCOUNTS) - 1),
        amounts,
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal("200"), places=6),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(moves, st.sampled_from([Decimal(0), Decimal(25)]))
def test_random_moves_keep_every_currency_at_zero_and_no_wallet_below_its_overdraft(
    steps: list[tuple[str, int, int, Decimal, Decimal]], overdraft: Decimal
) -> None:
    """Whatever sequence of transfers, exchanges, deposits and withdrawals is tried, the postings of each
    currency sum to zero and no wallet ends below minus its overdraft limit."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    floors: dict[str, Decimal | None] = {a: domain.floor("wallet", overdraft) for a, _ in ACCOUNTS}
    postings: list[Leg] = []
    for kind, i, j, amount, rate in steps:
        (source, ccy), (target, target_ccy) = ACCOUNTS[i], ACCOUNTS[j]
        amount = quantize(amount, ccy)
        if amount == 0:  # under a yen: the API refuses amounts finer than the currency's minor unit
            continue
        try:
            if kind == "transfer":
                if ccy != target_ccy or source == target:
                    continue
                legs = domain.transfer_legs(source, target, ccy, amount)
            elif kind == "exchange":
                if ccy == target_ccy:
                    continue
                q = domain.quote(amount, ccy, target_ccy, rate, Decimal("0.5"))
                legs = domain.exchange_legs(source, target, EXTERNAL[ccy], EXTERNAL[target_ccy], q)
            else:
                sign = 1 if kind == "deposit" else -1
                legs = domain.external_legs(source, EXTERNAL[ccy], ccy, sign * amount)
            balances.update(domain.apply(balances, legs, floors))
            postings.extend(legs)
        except Invalid:
            continue
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for leg in postings:
        per_currency[leg.currency] += leg.amount
    assert all(total == 0 for total in per_currency.values())
    for account, _ in ACCOUNTS:
        assert balances[account] >= -overdraft
        assert balances[account] == sum((p.amount for p in postings if p.account_id == account), Decimal(0))
