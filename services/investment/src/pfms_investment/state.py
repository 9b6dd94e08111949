"""An asset's derived state (pure): what its history adds up to, kept up to date one transaction at a time.

The lots engine (`lots.apply`) folds each transaction into the state; besides the open lots it keeps
running totals (realized P&L, cost in) and one record per trading day (units held at the close, the
day's last trade price, the day's cash flow, acquisition cost and realized cash), plus the cost of
disposed units by acquisition day. That is everything analytics need: totals in the asset's currency,
the per-day amounts to convert at each day's FX rate, and the quantity-by-day series for the value
walk. A transaction dated on or after the last day is applied to the stored state; an earlier one
(or a deletion, or a new cost method) rebuilds the asset's state from its history with `rebuild`.
The state is exact (Decimal) and serialises losslessly to JSON-ready dicts (`to_dict` / `from_dict`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from pfms_investment.lots import ACQUIRES, ZERO, Disposal, Kind, Lot, Method, Position, Txn, apply

_NO_PRICE = (Kind.DIVIDEND, Kind.FEE, Kind.SPLIT)


def flow(txn: Txn) -> Decimal:
    """Cash into (+) or out of (-) the portfolio, in the asset's currency."""
    if txn.kind in ACQUIRES:
        return txn.gross + txn.fees + txn.tax
    if txn.kind == Kind.SELL:
        return -(txn.gross - txn.fees - txn.tax)
    if txn.kind == Kind.TRANSFER_OUT:
        return -txn.gross
    if txn.kind == Kind.DIVIDEND:
        return -(txn.amount - txn.fees - txn.tax)
    if txn.kind == Kind.FEE:
        return txn.amount + txn.fees + txn.tax
    return ZERO


@dataclass(slots=True)
class Day:
    """One trading day of an asset, in its currency."""

    day: date
    quantity: Decimal
    """Units held at the close."""
    price: Decimal
    """The day's last trade price (0: no buy, sell or transfer with a price that day)."""
    flow: Decimal
    """Net cash into (+) or out of (-) the portfolio."""
    acquired: Decimal
    """Cost of what was bought or transferred in (fees and tax included)."""
    cash: Decimal
    """Proceeds of disposals plus net income (dividends less standalone fees): realized at this day's rate."""


@dataclass(slots=True)
class AssetState:
    position: Position = field(default_factory=Position)
    """Open lots and running quantity / cost in; its disposal and income lists stay empty (folded below)."""
    realized: Decimal = ZERO
    days: list[Day] = field(default_factory=list)
    disposed_cost: dict[date, Decimal] = field(default_factory=dict)
    """Cost of the units disposed of, by the date their lot was acquired (realized at that day's rate)."""

    @property
    def last_day(self) -> date | None:
        return self.days[-1].day if self.days else None

    @property
    def last_trade(self) -> tuple[date, Decimal] | None:
        """The latest trade price and its day."""
        return next(((d.day, d.price) for d in reversed(self.days) if d.price), None)


def advance(state: AssetState, txn: Txn, method: Method) -> list[Disposal]:
    """Apply one transaction dated on or after the state's last day; returns the disposals it made.
    LotError if the holdings cannot support it (the state is then to be thrown away, as the caller's
    transaction is)."""
    if state.days and txn.day < state.days[-1].day:
        raise ValueError(f"{txn.day} is before the state's last day {state.days[-1].day}: rebuild instead")
    position = state.position
    apply(position, txn, method)
    disposals, position.disposals = position.disposals, []
    income, position.income = position.income, []
    if not state.days or state.days[-1].day != txn.day:
        state.days.append(Day(txn.day, position.quantity, ZERO, ZERO, ZERO, ZERO))
    today = state.days[-1]
    today.quantity = position.quantity
    if txn.price > 0 and txn.kind not in _NO_PRICE:
        today.price = txn.price
    today.flow += flow(txn)
    if txn.kind in ACQUIRES:
        today.acquired += txn.gross + txn.fees + txn.tax
    for d in disposals:
        today.cash += d.proceeds
        state.disposed_cost[d.acquired] = state.disposed_cost.get(d.acquired, ZERO) + d.cost
        state.realized += d.gain
    for _, amount in income:
        today.cash += amount
        state.realized += amount
    return disposals


def rebuild(txns: Iterable[Txn], method: Method) -> tuple[AssetState, list[Disposal]]:
    """The state after the whole history (date, then recording order), and every disposal made on the way."""
    state, disposals = AssetState(), []
    for txn in txns:
        disposals += advance(state, txn, method)
    return state, disposals


def to_dict(state: AssetState) -> dict[str, Any]:
    p = state.position
    return {
        "lots": [[str(lot.id), lot.acquired.isoformat(), str(lot.quantity), str(lot.cost)] for lot in p.lots],
        "quantity": str(p.quantity),
        "cost_in": str(p.cost_in),
        "cost_transferred_out": str(p.cost_transferred_out),
        "realized": str(state.realized),
        "days": [
            [d.day.isoformat(), str(d.quantity), str(d.price), str(d.flow), str(d.acquired), str(d.cash)]
            for d in state.days
        ],
        "disposed_cost": {day.isoformat(): str(cost) for day, cost in state.disposed_cost.items()},
    }


def from_dict(raw: dict[str, Any]) -> AssetState:
    position = Position(
        lots=[Lot(UUID(i), date.fromisoformat(a), Decimal(q), Decimal(c)) for i, a, q, c in raw["lots"]],
        cost_in=Decimal(raw["cost_in"]),
        cost_transferred_out=Decimal(raw["cost_transferred_out"]),
        quantity=Decimal(raw["quantity"]),
    )
    return AssetState(
        position=position,
        realized=Decimal(raw["realized"]),
        days=[
            Day(date.fromisoformat(d), Decimal(q), Decimal(p), Decimal(f), Decimal(a), Decimal(c))
            for d, q, p, f, a, c in raw["days"]
        ],
        disposed_cost={date.fromisoformat(d): Decimal(c) for d, c in raw["disposed_cost"].items()},
    )
