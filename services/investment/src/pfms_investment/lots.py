"""The lots engine (pure): replays one asset's transactions into open lots, disposals and income.

Cost basis includes the buy's fees and tax; a sell's proceeds are net of its fees and tax. Each
sell consumes lots by the portfolio's method (FIFO, LIFO, average cost, or the lots the sell
names). Money is kept at 4 decimals (the NUMERIC(19,4) columns) and every split of an amount gives
the remainder to the last piece, so no cent is ever created or lost by rounding: the cost put in
always equals the cost still open plus the cost disposed of. Quantities have at most 8 decimals.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from uuid import UUID

MONEY = Decimal("0.0001")
QUANTITY = Decimal("0.00000001")
ZERO = Decimal(0)


class Method(StrEnum):
    FIFO = "fifo"
    LIFO = "lifo"
    AVERAGE = "average"
    SPECIFIC = "specific"


class Kind(StrEnum):
    BUY = "buy"
    SELL = "sell"
    DIVIDEND = "dividend"
    FEE = "fee"
    SPLIT = "split"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"


ACQUIRES = (Kind.BUY, Kind.TRANSFER_IN)  # tuples: membership by identity, no Enum.__hash__ (hot path)
DISPOSES = (Kind.SELL, Kind.TRANSFER_OUT)


class LotError(ValueError):
    """A transaction the holdings cannot support (selling more than held, unknown lot, …)."""

    def __init__(self, message: str, field: str = "quantity") -> None:
        super().__init__(message)
        self.field = field


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY, rounding=ROUND_HALF_EVEN)


def plain(value: Decimal) -> str:
    """A quantity as people write it: 20, 0.5 (no trailing zeros, no exponent)."""
    return f"{value.normalize():f}"


def units(value: Decimal) -> Decimal:
    return value.quantize(QUANTITY, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Txn:
    """One transaction of one asset. `quantity` is the split ratio for a split (2 for 2-for-1);
    `amount` is the gross cash of a dividend or fee; `picks` name lots for a specific-lot sell."""

    id: UUID
    kind: Kind
    day: date
    quantity: Decimal = ZERO
    price: Decimal = ZERO
    fees: Decimal = ZERO
    tax: Decimal = ZERO
    amount: Decimal = ZERO
    picks: tuple[tuple[UUID, Decimal], ...] = ()
    gross: Decimal = field(init=False, default=ZERO)
    """Cash value before fees and tax (computed once: analytics replays tens of thousands)."""

    def __post_init__(self) -> None:
        if self.kind in (Kind.DIVIDEND, Kind.FEE):
            gross = self.amount
        elif self.kind == Kind.SPLIT:
            gross = ZERO
        else:
            gross = money(self.quantity * self.price)
        object.__setattr__(self, "gross", gross)


@dataclass(slots=True)
class Lot:
    id: UUID
    acquired: date
    quantity: Decimal
    cost: Decimal


@dataclass(frozen=True, slots=True)
class Disposal:
    txn_id: UUID
    lot_id: UUID
    acquired: date
    disposed: date
    quantity: Decimal
    proceeds: Decimal
    cost: Decimal

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost


@dataclass(slots=True)
class Position:
    """What an asset's history adds up to."""

    lots: list[Lot] = field(default_factory=list)
    disposals: list[Disposal] = field(default_factory=list)
    income: list[tuple[date, Decimal]] = field(default_factory=list)
    """Net dividends (+) and standalone fees (-), by date."""
    cost_in: Decimal = ZERO
    cost_transferred_out: Decimal = ZERO
    quantity: Decimal = ZERO
    """Units held: kept as a running total (equal to the sum over the open lots)."""

    @property
    def cost(self) -> Decimal:
        return sum((lot.cost for lot in self.lots), ZERO)

    @property
    def realized(self) -> Decimal:
        """Gains on disposals plus net dividends less standalone fees."""
        return sum((d.gain for d in self.disposals), ZERO) + sum((amount for _, amount in self.income), ZERO)


def share(total: Decimal, parts: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` pro rata to `parts` at 4 decimals, exactly: each piece is the difference of the
    rounded running totals, so the pieces add up to `total` and none has the opposite sign."""
    whole = sum(parts, ZERO)
    if not parts:
        return []
    if whole == 0:
        return [ZERO] * (len(parts) - 1) + [total]
    pieces, running, previous = [], ZERO, ZERO
    for part in parts[:-1]:
        running += part
        upto = money(total * running / whole)
        pieces.append(upto - previous)
        previous = upto
    return [*pieces, total - previous]


def _take(lot: Lot, quantity: Decimal) -> Decimal:
    """Remove `quantity` from a lot and return the cost that leaves with it."""
    # Capped at what is left, so rounding many small takes up can never push a lot's cost below zero.
    cost = lot.cost if quantity == lot.quantity else min(money(lot.cost * quantity / lot.quantity), lot.cost)
    lot.quantity -= quantity
    lot.cost -= cost
    return cost


def _average(lots: list[Lot]) -> None:
    """Pool the cost: every open lot carries the average cost per unit (total kept exactly)."""
    pooled = share(sum((lot.cost for lot in lots), ZERO), [lot.quantity for lot in lots])
    for lot, cost in zip(lots, pooled, strict=True):
        lot.cost = cost


def _plan(position: Position, txn: Txn, method: Method) -> list[tuple[Lot, Decimal]]:
    """Which lots a disposal consumes, and how much of each."""
    held = position.quantity
    if txn.quantity > held:
        verb = txn.kind.value.replace("_", " ")
        raise LotError(f"Cannot {verb} {plain(txn.quantity)}: only {plain(held)} held on {txn.day}")
    if method == Method.SPECIFIC and txn.kind == Kind.SELL:
        by_id = {lot.id: lot for lot in position.lots}
        if not txn.picks:
            raise LotError("A specific-lot sell must name its lots", field="lots")
        if sum((q for _, q in txn.picks), ZERO) != txn.quantity:
            raise LotError("The lots named must add up to the quantity sold", field="lots")
        plan = []
        for lot_id, quantity in txn.picks:
            lot = by_id.get(lot_id)
            if lot is None or quantity <= 0 or quantity > lot.quantity:
                raise LotError(f"Lot {lot_id} does not hold {quantity} units on {txn.day}", field="lots")
            plan.append((lot, quantity))
        return plan
    order = reversed(position.lots) if method == Method.LIFO else iter(position.lots)
    plan, left = [], txn.quantity
    for lot in order:
        if left == 0:
            break
        quantity = min(left, lot.quantity)
        plan.append((lot, quantity))
        left -= quantity
    return plan


def _dispose(position: Position, txn: Txn, method: Method) -> None:
    if method == Method.AVERAGE:
        _average(position.lots)
    plan = _plan(position, txn, method)
    costs = [_take(lot, quantity) for lot, quantity in plan]
    if txn.kind == Kind.SELL:
        proceeds = share(txn.gross - txn.fees - txn.tax, [q for _, q in plan])
        for (lot, quantity), cost, part in zip(plan, costs, proceeds, strict=True):
            position.disposals.append(Disposal(txn.id, lot.id, lot.acquired, txn.day, quantity, part, cost))
    else:
        position.cost_transferred_out += sum(costs, ZERO)
    position.quantity -= txn.quantity
    lots = position.lots
    if method in (Method.FIFO, Method.AVERAGE):
        while lots and lots[0].quantity == 0:
            lots.pop(0)
    elif method == Method.LIFO:
        while lots and lots[-1].quantity == 0:
            lots.pop()
    else:
        position.lots = [lot for lot in lots if lot.quantity > 0]


def apply(position: Position, txn: Txn, method: Method) -> Position:
    """Apply one transaction in place; LotError if the holdings cannot support it."""
    if txn.kind in ACQUIRES:
        cost = txn.gross + txn.fees + txn.tax
        position.lots.append(Lot(txn.id, txn.day, txn.quantity, cost))
        position.cost_in += cost
        position.quantity += txn.quantity
    elif txn.kind in DISPOSES:
        _dispose(position, txn, method)
    elif txn.kind == Kind.SPLIT:
        if not position.lots:
            raise LotError(f"Nothing held to split on {txn.day}")
        for lot in position.lots:
            lot.quantity = units(lot.quantity * txn.quantity)
        position.quantity = sum((lot.quantity for lot in position.lots), ZERO)
    elif txn.kind == Kind.DIVIDEND:
        position.income.append((txn.day, txn.amount - txn.fees - txn.tax))
    elif txn.kind == Kind.FEE:
        position.income.append((txn.day, -(txn.amount + txn.fees + txn.tax)))
    return position


def replay(txns: Iterable[Txn], method: Method) -> Position:
    """The position after every transaction, in the order given (date, then recording order)."""
    position = Position()
    for txn in txns:
        apply(position, txn, method)
    return position
