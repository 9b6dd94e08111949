"""Split allocation: hand-checked examples, and properties that hold for any input."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_group.splits import Participant, SplitError, SplitType, allocate, debts, rescale, split, to_minor

A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def test_equal_split_gives_the_odd_cent_to_the_lowest_ids() -> None:
    assert split(1000, SplitType.EQUAL, [Participant(C), Participant(A), Participant(B)], "USD") == {
        A: 334,
        B: 333,
        C: 333,
    }


def test_unequal_split_takes_the_amounts_and_they_must_add_up() -> None:
    people = [Participant(A, amount=Decimal("7.50")), Participant(B, amount=Decimal("2.50"))]
    assert split(1000, SplitType.UNEQUAL, people, "USD") == {A: 750, B: 250}
    with pytest.raises(SplitError, match="add up"):
        split(1001, SplitType.UNEQUAL, people, "USD")


def test_percentage_split_rounds_by_largest_remainder() -> None:
    people = [Participant(A, percentage=Decimal("33.33")), Participant(B, percentage=Decimal("66.67"))]
    # 100.00 x 33.33 % = 33.33, x 66.67 % = 66.67
    assert split(10000, SplitType.PERCENTAGE, people, "USD") == {A: 3333, B: 6667}
    # 0.10 x 33.33 % = 0.03333 → 3 cents, 0.10 x 66.67 % = 0.06667 → 6 + the left-over cent
    assert split(10, SplitType.PERCENTAGE, people, "USD") == {A: 3, B: 7}
    with pytest.raises(SplitError, match="100"):
        split(100, SplitType.PERCENTAGE, [Participant(A, percentage=Decimal(50))], "USD")


def test_weight_split_by_shares() -> None:
    people = [Participant(A, weight=Decimal(2)), Participant(B, weight=Decimal(1)), Participant(C, weight=Decimal(1))]
    assert split(1001, SplitType.WEIGHT, people, "USD") == {A: 501, B: 250, C: 250}


def test_custom_split_fixes_some_and_shares_the_rest() -> None:
    people = [Participant(A, amount=Decimal("4.00")), Participant(B), Participant(C, weight=Decimal(2))]
    assert split(1000, SplitType.CUSTOM, people, "USD") == {A: 400, B: 200, C: 400}
    with pytest.raises(SplitError, match="exceed"):
        split(300, SplitType.CUSTOM, people, "USD")


def test_zero_decimal_currency_and_too_many_decimals() -> None:
    assert split(1000, SplitType.EQUAL, [Participant(A), Participant(B), Participant(C)], "JPY") == {
        A: 334,
        B: 333,
        C: 333,
    }
    assert to_minor(Decimal("12.345"), "KWD") == 12345
    with pytest.raises(SplitError):
        to_minor(Decimal("1.001"), "USD")


def test_a_member_appears_once_and_a_missing_field_is_named() -> None:
    with pytest.raises(SplitError, match="once"):
        split(100, SplitType.EQUAL, [Participant(A), Participant(A)], "USD")
    with pytest.raises(SplitError) as err:
        split(100, SplitType.WEIGHT, [Participant(A, weight=Decimal(1)), Participant(B)], "USD")
    assert err.value.field == "participants.1.weight"


def test_debts_follow_payments_and_match_both_sides_exactly() -> None:
    # 90.00 shared by three; A paid 60, B paid 30
    shares = {A: 3000, B: 3000, C: 3000}
    owed = debts(shares, {A: 6000, B: 3000})
    assert owed == {(A, B): 1000, (B, A): 2000, (C, A): 2000, (C, B): 1000}
    assert debts({A: 500, B: 500}, {A: 1000}) == {(B, A): 500}


ids = st.lists(st.integers(1, 10_000), min_size=1, max_size=12, unique=True).map(
    lambda xs: [uuid.UUID(int=x) for x in xs]
)


@given(total=st.integers(0, 10**9), members=ids, data=st.data())
def test_allocation_always_adds_up_and_is_never_negative(total: int, members: list[uuid.UUID], data) -> None:
    weights = {m: data.draw(st.decimals(0, 1000, places=2)) for m in members}
    if sum(weights.values()) == 0:
        weights[members[0]] = Decimal(1)
    shares = allocate(total, weights)
    assert sum(shares.values()) == total
    assert all(v >= 0 for v in shares.values())
    # each share is within one unit of its exact value
    whole = sum(weights.values())
    assert all(abs(shares[m] - total * weights[m] / whole) < 1 for m in members)


@given(total=st.integers(0, 10**7), members=ids, data=st.data())
def test_debts_match_shares_and_payments(total: int, members: list[uuid.UUID], data) -> None:
    shares = split(total, SplitType.EQUAL, [Participant(m) for m in members], "USD")
    payers = data.draw(st.lists(st.sampled_from(members), min_size=1, unique=True))
    paid = rescale({p: data.draw(st.integers(1, 100)) for p in payers}, total)
    owed = debts(shares, paid)
    assert all(v > 0 for v in owed.values())
    for m in members:
        out = sum(v for (d, _), v in owed.items() if d == m)
        back = sum(v for (_, c), v in owed.items() if c == m)
        assert back - out == paid.get(m, 0) - shares[m]
