"""Asset states maintained one write at a time equal a full replay, and re-issued gains converge on it."""

import uuid
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfms_investment.events import by_sell, changed_sells
from pfms_investment.lots import Disposal, Kind, LotError, Method, Txn, replay
from pfms_investment.state import AssetState, advance, from_dict, rebuild, to_dict

START = date(2024, 1, 1)


def test_state_keeps_what_analytics_need_per_day() -> None:
    # Buy 10 @ 100 + 5 fees (cost 1005), same day buy 10 @ 120 (1200); sell 15 @ 130 - 10 fees on Mar 1:
    # FIFO takes 10 of the first (1005) and 5 of the second (600); proceeds 1940 split 10:5 = 1293.3333 / 646.6667.
    a, b = uuid.UUID(int=1), uuid.UUID(int=2)
    txns = [
        Txn(a, Kind.BUY, date(2024, 1, 2), D(10), D(100), fees=D(5)),
        Txn(b, Kind.BUY, date(2024, 1, 2), D(10), D(120)),
        Txn(uuid.UUID(int=3), Kind.SELL, date(2024, 3, 1), D(15), D(130), fees=D(10)),
        Txn(uuid.UUID(int=4), Kind.DIVIDEND, date(2024, 3, 1), amount=D(7), tax=D(1)),
    ]
    state, disposals = rebuild(txns, Method.FIFO)
    assert [(d.lot_id, d.cost) for d in disposals] == [(a, D(1005)), (b, D(600))]
    first, second = state.days
    assert (first.day, first.quantity, first.price, first.flow, first.acquired, first.cash) == (
        date(2024, 1, 2),
        D(20),
        D(120),  # the day's last trade price
        D(2205),
        D(2205),
        D(0),
    )
    # Cash realized on Mar 1: proceeds 1940 plus the net dividend 6; flow out 1940 + 6.
    assert (second.quantity, second.price, second.flow, second.cash) == (D(5), D(130), D(-1946), D(1946))
    assert state.disposed_cost == {date(2024, 1, 2): D(1605)}
    assert state.realized == D(1946) - D(1605) == replay(txns, Method.FIFO).realized
    assert state.last_trade == (date(2024, 3, 1), D(130))
    assert from_dict(to_dict(state)) == state


def test_advance_refuses_a_backdated_transaction_and_an_oversell() -> None:
    state, _ = rebuild([Txn(uuid.uuid4(), Kind.BUY, date(2024, 2, 1), D(1), D(1))], Method.FIFO)
    with pytest.raises(ValueError, match="rebuild"):
        advance(state, Txn(uuid.uuid4(), Kind.BUY, date(2024, 1, 1), D(1), D(1)), Method.FIFO)
    with pytest.raises(LotError, match="only 1 held"):
        advance(state, Txn(uuid.uuid4(), Kind.SELL, date(2024, 2, 2), D(2), D(1)), Method.FIFO)


amounts = st.decimals(min_value=D("0.01"), max_value=D(500), places=2)
units = st.decimals(min_value=D("0.00000001"), max_value=D(50), places=8)
operation = st.one_of(
    st.tuples(st.sampled_from(["buy", "transfer_in"]), st.integers(0, 60), units, amounts, amounts, st.just(D(0))),
    st.tuples(
        st.sampled_from(["sell", "transfer_out"]),
        st.integers(0, 60),
        st.floats(0.05, 1.0),
        amounts,
        amounts,
        st.just(D(0)),
    ),
    st.tuples(st.sampled_from(["dividend", "fee"]), st.integers(0, 60), st.just(D(0)), st.just(D(0)), amounts, amounts),
    st.tuples(
        st.just("split"),
        st.integers(0, 60),
        st.sampled_from([D(2), D(3), D("0.5")]),
        st.just(D(0)),
        st.just(D(0)),
        st.just(D(0)),
    ),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.just(D(0)), st.just(D(0)), st.just(D(0)), st.just(D(0))),
)


def _txn(op: tuple, held: D) -> Txn:
    kind, day, size, price, fees, amount = op
    when = START + timedelta(days=day)
    if kind in ("sell", "transfer_out"):
        quantity = (held * D(str(size))).quantize(D("0.00000001")) or D("0.00000001")
        return Txn(uuid.uuid4(), Kind(kind), when, quantity, price, fees=fees if kind == "sell" else D(0))
    if kind in ("dividend", "fee"):
        return Txn(uuid.uuid4(), Kind(kind), when, fees=fees, amount=amount)
    if kind == "split":
        return Txn(uuid.uuid4(), Kind.SPLIT, when, size)
    return Txn(uuid.uuid4(), Kind(kind), when, size, price, fees=fees)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([Method.FIFO, Method.LIFO, Method.AVERAGE]), st.lists(operation, min_size=1, max_size=40))
def test_incremental_state_equals_a_full_replay(method: Method, operations: list[tuple]) -> None:
    """What the service does on each write: a transaction on or after the last day continues the stored
    (serialised) state; a backdated one or a deletion rebuilds the asset and re-issues the changed sells.
    After every write the stored state is the full replay's, and the gains published (first figures,
    then revisions replacing them) are the full replay's disposals, sell by sell."""
    history: list[Txn] = []
    stored = to_dict(AssetState())
    published: dict[uuid.UUID, list[Disposal]] = {}
    for op in operations:
        current = from_dict(stored)
        if op[0] == "delete":
            if not history:
                continue
            gone = history[op[1] % len(history)]
            candidate = [t for t in history if t is not gone]
            try:
                state, after = rebuild(candidate, method)
            except LotError:
                continue
            revised = changed_sells(replay(history, method).disposals, after)
        else:
            new = _txn(op, current.position.quantity)
            if current.last_day is None or new.day >= current.last_day:
                candidate = [*history, new]
                try:
                    made = advance(current, new, method)
                except LotError:
                    continue
                state, revised = current, {}
            else:
                candidate = sorted([*history, new], key=lambda t: t.day)
                try:
                    state, after = rebuild(candidate, method)
                except LotError:
                    continue
                made = [d for d in after if d.txn_id == new.id]
                revised = changed_sells(replay(history, method).disposals, after, skip={new.id})
            if made:
                published[new.id] = made
        for sell, lots in revised.items():
            if lots:
                published[sell] = lots
            else:
                published.pop(sell, None)
        history, stored = candidate, to_dict(state)

        full, _ = rebuild(history, method)
        assert from_dict(stored) == full
        position = replay(history, method)
        assert (full.position.lots, full.position.quantity) == (position.lots, position.quantity)
        assert (full.realized, full.position.cost_in) == (position.realized, position.cost_in)
        assert published == dict(by_sell(position.disposals))
