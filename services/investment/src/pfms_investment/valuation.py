"""Valuation over time (pure): FX by date, latest prices, and the portfolio's value and flows per day.

One pass over the merged, date-ordered stream of quantity changes, price observations and FX
rates keeps a running value per currency, so valuing a portfolio on every flow day costs
O(transactions + observations), not O(days x assets).
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pfms_investment.lots import ZERO, Kind, Method, Position, Txn, apply
from pfms_investment.returns import Point


class MissingRate(LookupError):
    """No FX rate on or before a date: the caller fetches it (or answers 503), never guesses."""

    def __init__(self, currency: str, base: str, day: date) -> None:
        super().__init__(f"no {currency}/{base} rate on or before {day}")
        self.currency = currency
        self.base = base
        self.day = day


class FxTable:
    """Rates into the base currency by date: the rate on a day is the last one published on or before it."""

    def __init__(self, base: str, rates: Mapping[str, Sequence[tuple[date, Decimal]]]) -> None:
        self.base = base
        self._days = {c: [d for d, _ in series] for c, series in rates.items()}
        self._rates = {c: [r for _, r in series] for c, series in rates.items()}

    def rate(self, currency: str, day: date) -> Decimal:
        """Units of base currency per unit of `currency` on `day`."""
        if currency == self.base:
            return Decimal(1)
        days = self._days.get(currency, [])
        i = bisect_right(days, day)
        if i == 0:
            raise MissingRate(currency, self.base, day)
        return self._rates[currency][i - 1]

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal:
        return amount * self.rate(currency, day)


@dataclass(frozen=True, slots=True)
class Asset:
    id: object
    currency: str


@dataclass(frozen=True, slots=True)
class Walk:
    positions: list[Position]
    prices: list[Decimal]
    """Latest price of each asset (0 if none was ever seen)."""
    points: dict[date, Point]


def flow(txn: Txn) -> Decimal:
    """Cash into (+) or out of (-) the portfolio, in the asset's currency."""
    if txn.kind in (Kind.BUY, Kind.TRANSFER_IN):
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


PRICE, QTY = 0, 1
_NO_PRICE = (Kind.DIVIDEND, Kind.FEE, Kind.SPLIT)


def walk(
    assets: Sequence[Asset],
    txns: Sequence[Sequence[Txn]],
    method: Method,
    prices: Sequence[Sequence[tuple[date, Decimal]]],
    fx: FxTable,
    breakpoints: Iterable[date],
) -> Walk:
    """Replay every asset, then value the portfolio (base currency) at the close of each breakpoint.

    `txns[i]` and `prices[i]` belong to `assets[i]`; a trade's own price counts as an observation.
    Gives the final positions, the latest prices, and a Point per breakpoint and per flow day.
    """
    positions: list[Position] = []
    # Events bucketed by day (no global sort): (kind, asset index, new quantity or price).
    by_day: dict[date, list[tuple[int, int, Decimal]]] = defaultdict(list)
    flows: dict[date, Decimal] = defaultdict(Decimal)
    base = fx.base
    for i, (asset, history) in enumerate(zip(assets, txns, strict=True)):
        position = Position()
        foreign = asset.currency != base
        for txn in history:
            apply(position, txn, method)
            bucket = by_day[txn.day]
            bucket.append((QTY, i, position.quantity))
            if txn.price > 0 and txn.kind not in _NO_PRICE:
                bucket.append((PRICE, i, txn.price))
            amount = flow(txn)
            if amount:
                flows[txn.day] += fx.convert(amount, asset.currency, txn.day) if foreign else amount
        positions.append(position)
        for day, observed in prices[i]:
            by_day[day].append((PRICE, i, observed))

    currencies = sorted({a.currency for a in assets})
    slot = {c: n for n, c in enumerate(currencies)}
    asset_slot = [slot[a.currency] for a in assets]
    local = [ZERO] * len(currencies)
    quantity = [ZERO] * len(assets)
    price = [ZERO] * len(assets)
    points: dict[date, Point] = {}
    pending = sorted(by_day)
    n = 0
    for day in sorted({*breakpoints, *flows}):
        while n < len(pending) and pending[n] <= day:
            for kind, i, value in by_day[pending[n]]:
                if kind == QTY:
                    local[asset_slot[i]] += (value - quantity[i]) * price[i]
                    quantity[i] = value
                else:
                    local[asset_slot[i]] += quantity[i] * (value - price[i])
                    price[i] = value
            n += 1
        total = sum((local[slot[c]] * fx.rate(c, day) for c in currencies if local[slot[c]]), ZERO)
        points[day] = Point(day, total, flows.get(day, ZERO))
    return Walk(positions, price, points)
