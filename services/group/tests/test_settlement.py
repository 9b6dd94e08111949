"""Debt simplification: hand-checked examples, and that it always settles everyone in at most n-1 transfers."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_group.settlement import Transfer, balances_of, simplify

A, B, C, D = (uuid.UUID(int=i) for i in (1, 2, 3, 4))


def test_largest_debtor_pays_largest_creditor_first() -> None:
    # A is owed 50, B is owed 10; C owes 40, D owes 20
    assert simplify({A: 50, B: 10, C: -40, D: -20}) == [
        Transfer(C, A, 40),
        Transfer(D, A, 10),
        Transfer(D, B, 10),
    ]


def test_ties_go_to_the_lower_member_id() -> None:
    assert simplify({D: 10, C: 10, B: -10, A: -10}) == [Transfer(A, C, 10), Transfer(B, D, 10)]


def test_a_payment_between_two_members_leaves_the_others_alone() -> None:
    before = simplify({A: 30, B: 20, C: -25, D: -25})
    after = simplify({A: 30, B: 10, C: -25, D: -15})  # D paid B 10
    assert Transfer(C, A, 25) in before and Transfer(C, A, 25) in after


def test_settled_group_needs_no_transfers_and_unbalanced_input_is_refused() -> None:
    assert simplify({A: 0, B: 0}) == []
    with pytest.raises(ValueError):
        simplify({A: 1})


@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=60))
def test_simplify_zeroes_every_balance_with_at_most_n_minus_1_transfers(amounts: list[int]) -> None:
    amounts.append(-sum(amounts))
    balances = {uuid.UUID(int=i + 1): v for i, v in enumerate(amounts)}
    transfers = simplify(balances)
    assert all(t.amount > 0 for t in transfers)
    nonzero = sum(1 for v in balances.values() if v)
    assert len(transfers) <= max(nonzero - 1, 0)
    settled = balances_of(transfers)
    assert all(settled.get(m, 0) == v for m, v in balances.items())
