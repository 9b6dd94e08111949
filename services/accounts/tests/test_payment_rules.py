"""P2P payment rules without I/O: the status machine, where an incoming payment lands, and (hypothesis)
random payments, acceptances and declines between people keep every currency's sum at zero and no
wallet below its floor."""

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_accounts import domain
from pfms_accounts import payment_rules as rules
from pfms_accounts.domain import Leg
from pfms_accounts.payment_rules import PaymentStatus as S
from pfms_platform.errors import Invalid


def test_statuses_only_move_forward() -> None:
    assert rules.can_move(S.REQUESTED, S.SENT)
    assert rules.can_move(S.REQUESTED, S.DECLINED)
    assert rules.can_move(S.SENT, S.ACCEPTED)
    assert rules.can_move(S.ACCEPTED, S.SETTLED)
    assert rules.can_move(S.SENT, S.FAILED)
    assert rules.can_move(S.DECLINED, S.REFUNDED, held=True)
    assert not rules.can_move(S.DECLINED, S.REFUNDED)  # a declined request held nothing
    assert not rules.can_move(S.SENT, S.SENT)  # a repeated step does nothing
    assert not rules.can_move(S.ACCEPTED, S.DECLINED)  # accepted: it settles (or fails), the payee cannot go back
    assert not rules.can_move(S.REQUESTED, S.SETTLED)  # no step is skipped
    for terminal in (S.SETTLED, S.REFUNDED, S.EXPIRED):
        assert not any(rules.can_move(terminal, target, held=True) for target in S)
    # the graph has no way back: following transitions never returns to a status already passed
    order = list(S)
    for source, targets in rules.TRANSITIONS.items():
        for target in targets:
            assert target not in _ancestors(source) and target is not source, (source, target)
    assert set(rules.TRANSITIONS) == set(order)


def _ancestors(status: S) -> set[S]:
    found: set[S] = set()
    frontier = [status]
    while frontier:
        current = frontier.pop()
        for source, targets in rules.TRANSITIONS.items():
            if current in targets and source not in found:
                found.add(source)
                frontier.append(source)
    return found


def test_an_incoming_payment_lands_by_itself_only_in_the_one_open_receiving_account() -> None:
    one = [("w", "wallet", "USD", False), ("e", "wallet", "EUR", False), ("c", "credit_card", "USD", False)]
    assert rules.auto_account(one, "USD") == "w"
    assert rules.auto_account([*one, ("s", "savings", "USD", False)], "USD") is None  # two: the payee picks
    assert rules.auto_account([*one, ("old", "checking", "USD", True)], "USD") == "w"  # archived ones do not count
    assert rules.auto_account(one, "GBP") is None
    assert rules.auto_account([("p", "property", "USD", False)], "USD") is None


def test_every_step_books_a_balanced_entry_on_one_persons_books() -> None:
    amount = Decimal("12.50")
    hold = rules.hold_legs("wallet", "clearing", "USD", amount)
    assert {leg.account_id: leg.amount for leg in hold} == {"wallet": -amount, "clearing": amount}
    refund = rules.refund_legs("wallet", "clearing", "USD", amount)
    assert {leg.account_id: leg.amount for leg in refund} == {"wallet": amount, "clearing": -amount}
    assert sum(leg.amount for leg in rules.release_legs("clearing", "edge", "USD", amount)) == 0
    assert sum(leg.amount for leg in rules.receive_legs("account", "edge", "USD", amount)) == 0


PEOPLE = ("ann", "ben", "cat")
steps = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(PEOPLE),
        st.sampled_from(["USD", "EUR"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(80), places=2),
        st.sampled_from(["accept", "decline", "fail", "wait"]),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(steps, st.sampled_from([Decimal(0), Decimal(30)]))
def test_random_payments_keep_every_currency_at_zero_and_wallets_above_their_floor(
    moves: list[tuple[str, str, str, Decimal, str]], overdraft: Decimal
) -> None:
    """Each person has a wallet per currency (opened with 100 from their edge), a clearing and an edge
    account; payments hold, then settle or are refunded. Booked as the service books them: refused holds
    change nothing, every entry balances, the clearing accounts hold exactly the payments in flight."""
    balances: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    floors = {(p, "wallet", c): -overdraft for p in PEOPLE for c in ("USD", "EUR")}

    def book(legs: list[Leg]) -> None:
        domain.check_balanced(legs)
        after = domain.apply(balances, legs, floors)
        balances.update(after)

    for person in PEOPLE:
        for ccy in ("USD", "EUR"):
            book(domain.external_legs((person, "wallet", ccy), (person, "edge", ccy), ccy, Decimal(100)))
    in_flight: list[tuple[str, str, str, Decimal]] = []
    for payer, payee, ccy, amount, outcome in moves:
        if payer == payee:
            continue
        try:
            book(rules.hold_legs((payer, "wallet", ccy), (payer, "clearing", ccy), ccy, amount))
        except Invalid:
            assert balances[(payer, "wallet", ccy)] - amount < -overdraft  # refused only when it would overdraw
            continue
        if outcome == "accept":
            book(rules.release_legs((payer, "clearing", ccy), (payer, "edge", ccy), ccy, amount))
            book(rules.receive_legs((payee, "wallet", ccy), (payee, "edge", ccy), ccy, amount))
        elif outcome in ("decline", "fail"):
            book(rules.refund_legs((payer, "wallet", ccy), (payer, "clearing", ccy), ccy, amount))
        else:
            in_flight.append((payer, payee, ccy, amount))
        for ccy_ in ("USD", "EUR"):
            assert sum(b for (_, _, c), b in balances.items() if c == ccy_) == 0
        assert all(balances[key] >= floor for key, floor in floors.items())
    for person in PEOPLE:
        for ccy in ("USD", "EUR"):
            held = sum(a for p, _, c, a in in_flight if p == person and c == ccy)
            assert balances[(person, "clearing", ccy)] == held
