"""Valuation over time (pure): FX by date, price series, and the portfolio's value and flows per day.

The value walk reads each asset's per-day records (units held at the close, the day's trade price and
cash flow, from the maintained asset states) and its daily prices, and keeps a running value per
currency in one pass over the merged, date-bucketed stream: valuing the portfolio on every flow day
costs O(asset-days + price observations). Values and flows feed only ratios (TWR, XIRR), so the walk
runs in floats; money (value, cost, P&L) is computed in Decimal from the states elsewhere.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from pfms_investment.lots import ZERO
from pfms_investment.returns import Point
from pfms_investment.state import AssetState


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
        self._ordinals = {c: [d.toordinal() for d, _ in series] for c, series in rates.items()}
        self._exact: dict[str, list[Decimal | str]] = {c: [r for _, r in series] for c, series in rates.items()}
        self._seen: dict[tuple[str, date], Decimal] = {}
        self._floats: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def packed(cls, base: str, rates: Mapping[str, tuple[np.ndarray, np.ndarray, list[str]]]) -> "FxTable":
        """From (day ordinals, float rates, exact rates as text) per currency, oldest first: the exact
        rate of a day is parsed only when a conversion needs it."""
        table = cls(base, {})
        for currency, (ordinals, floats, exact) in rates.items():
            table._ordinals[currency] = ordinals.tolist()
            table._exact[currency] = list(exact)
            table._floats[currency] = (ordinals.astype(np.int64), floats.astype(np.float64))
        return table

    def span(self, currency: str) -> tuple[date, date] | None:
        """The first and last days with a rate of `currency`."""
        ordinals = self._ordinals.get(currency)
        return (date.fromordinal(ordinals[0]), date.fromordinal(ordinals[-1])) if ordinals else None

    def rate(self, currency: str, day: date) -> Decimal:
        """Units of base currency per unit of `currency` on `day`."""
        if currency == self.base:
            return Decimal(1)
        found = self._seen.get((currency, day))
        if found is None:
            i = bisect_right(self._ordinals.get(currency, []), day.toordinal())
            if i == 0:
                raise MissingRate(currency, self.base, day)
            exact = self._exact[currency]
            found = exact[i - 1] = Decimal(exact[i - 1])
            self._seen[(currency, day)] = found
        return found

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal:
        return amount * self.rate(currency, day)

    def rates_on(self, currency: str, ordinals: Sequence[int]) -> list[Decimal]:
        """`rate` for many days at once (day ordinals, oldest first): one vectorised search."""
        if currency == self.base:
            return [Decimal(1)] * len(ordinals)
        at = np.searchsorted(self.floats(currency)[0], np.asarray(ordinals, dtype=np.int64), side="right") - 1
        if len(at) and at.min() < 0:
            raise MissingRate(currency, self.base, date.fromordinal(ordinals[int(np.argmax(at < 0))]))
        exact = self._exact[currency]
        out = []
        for i in at.tolist():
            found = exact[i]
            if isinstance(found, str):
                found = exact[i] = Decimal(found)
            out.append(found)
        return out

    def floats(self, currency: str) -> tuple[np.ndarray, np.ndarray]:
        """The currency's rates as (day ordinals, float rates), for the value walk (built once per currency)."""
        if currency not in self._floats:
            self._floats[currency] = (
                np.asarray(self._ordinals.get(currency, []), dtype=np.int64),
                np.asarray([float(r) for r in self._exact.get(currency, [])], dtype=np.float64),
            )
        return self._floats[currency]


@dataclass(frozen=True, slots=True)
class Series:
    """An asset's daily prices: day ordinals and float prices for the walk, and the latest price exactly."""

    days: np.ndarray
    values: np.ndarray
    last: tuple[date, Decimal] | None


def series(prices: Sequence[tuple[date, Decimal]]) -> Series:
    """A Series from (day, price) pairs, oldest first."""
    return Series(
        np.asarray([d.toordinal() for d, _ in prices], dtype=np.int64),
        np.asarray([float(p) for _, p in prices], dtype=np.float64),
        prices[-1] if prices else None,
    )


NO_PRICES = series([])


@dataclass(frozen=True, slots=True)
class Holding:
    """What analytics read of one asset: totals in its currency, its per-day records as float arrays for the
    value walk, and (when its currency is not the base) the exact amounts to convert at each day's rate."""

    quantity: Decimal
    cost: Decimal
    realized: Decimal
    cost_in: Decimal
    last_trade: tuple[date, Decimal] | None
    days: np.ndarray
    """Ordinals of the days with transactions; `quantities` (at the close), `prices` (the day's last trade
    price, 0 if none) and `flows` (net cash in) run along them."""
    quantities: np.ndarray
    prices: np.ndarray
    flows: np.ndarray
    by_day: Sequence[tuple[int, Decimal, Decimal, Decimal]] = ()
    """(day ordinal, realized, cost in, open cost) by day: realized = cash realized that day less the cost of units
    disposed of that were acquired that day; open cost = cost still open of the lots acquired that day."""

    @classmethod
    def of(cls, state: AssetState) -> "Holding":
        p = state.position
        return cls(
            quantity=p.quantity,
            cost=p.cost,
            realized=state.realized,
            cost_in=p.cost_in,
            last_trade=state.last_trade,
            days=np.asarray([d.day.toordinal() for d in state.days], dtype=np.int64),
            quantities=np.asarray([float(d.quantity) for d in state.days], dtype=np.float64),
            prices=np.asarray([float(d.price) for d in state.days], dtype=np.float64),
            flows=np.asarray([float(d.flow) for d in state.days], dtype=np.float64),
            by_day=money_by_day(state),
        )

    @property
    def first_day(self) -> date | None:
        return date.fromordinal(int(self.days[0])) if len(self.days) else None


def money_by_day(state: AssetState) -> list[tuple[int, Decimal, Decimal, Decimal]]:
    """The state's amounts grouped by the day whose FX rate converts them (see `Holding.by_day`)."""
    realized = {d.day: d.cash for d in state.days}
    cost_in = {d.day: d.acquired for d in state.days}
    open_cost: dict[date, Decimal] = {}
    for day, cost in state.disposed_cost.items():
        realized[day] = realized.get(day, ZERO) - cost
    for lot in state.position.lots:
        open_cost[lot.acquired] = open_cost.get(lot.acquired, ZERO) + lot.cost
    days = sorted(realized.keys() | open_cost.keys())
    return [(d.toordinal(), realized.get(d, ZERO), cost_in.get(d, ZERO), open_cost.get(d, ZERO)) for d in days]


_NONE = np.zeros(0, dtype=np.int64)
EMPTY = Holding(
    ZERO, ZERO, ZERO, ZERO, None, _NONE, _NONE.astype(np.float64), _NONE.astype(np.float64), _NONE.astype(np.float64)
)


def current_price(holding: Holding, prices: Series) -> Decimal:
    """The latest observed price: a day's market price wins over a trade price of the same day (0 if none)."""
    trade, market = holding.last_trade, prices.last
    if market is not None and (trade is None or market[0] >= trade[0]):
        return market[1]
    return trade[1] if trade is not None else ZERO


def _rates_at(fx: FxTable, currency: str, days: np.ndarray) -> np.ndarray:
    """Float rates of `currency` on each day ordinal (MissingRate as FxTable.rate for the first day without one)."""
    if currency == fx.base:
        return np.ones(len(days))
    known, rates = fx.floats(currency)
    at = np.searchsorted(known, days, side="right") - 1
    if len(at) and at.min() < 0:
        raise MissingRate(currency, fx.base, date.fromordinal(int(days[np.argmax(at < 0)])))
    return rates[at] if len(at) else np.zeros(0)


def _last_index(valid: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For each row, the index of the last row up to it (same group) where `valid` holds; -1 if none."""
    index = np.where(valid, np.arange(len(valid)), -1)
    last = np.maximum.accumulate(index) if len(index) else index
    return np.where((last >= 0) & (group[np.maximum(last, 0)] == group), last, -1)


def walk(
    currencies: Sequence[str],
    holdings: Sequence[Holding],
    prices: Sequence[Series],
    fx: FxTable,
    breakpoints: Iterable[date],
) -> dict[date, Point]:
    """The portfolio's value (base currency) at the close of each breakpoint and of each flow day.

    `currencies[i]`, `holdings[i]` and `prices[i]` belong to the same asset. Each asset's state changes
    at its trading days (units held, a trade price) and at its market prices (a day's market price
    comes after that day's trades); its value after each change, minus the value before, summed per
    currency in date order, gives each currency's value on any day. Vectorised with numpy: one pass
    over all rows, no Python loop per row.
    """
    n_trade = np.asarray([len(h.days) for h in holdings], dtype=np.int64)
    n_close = np.asarray([len(s.days) for s in prices], dtype=np.int64)
    trades, closes = int(n_trade.sum()), int(n_close.sum())
    asset = np.concatenate([np.repeat(np.arange(len(holdings)), n_trade), np.repeat(np.arange(len(prices)), n_close)])
    day = np.concatenate([h.days for h in holdings] + [_NONE] + [s.days for s in prices]).astype(np.int64)
    is_close = np.concatenate([np.zeros(trades, np.int64), np.ones(closes, np.int64)])
    held = np.concatenate([h.quantities for h in holdings] + [np.zeros(closes)]).astype(np.float64)
    seen = np.concatenate([h.prices for h in holdings] + [np.zeros(0)] + [s.values for s in prices]).astype(np.float64)
    flow = np.concatenate([h.flows for h in holdings] + [np.zeros(closes)]).astype(np.float64)
    # By asset, then day, a day's market price after its trades: one integer key (ordinals < 2**30), and
    # a stable sort that finds the input already in sorted runs.
    order = np.argsort((asset << 32) | (day << 1) | is_close, kind="stable")
    asset, day, held, seen, flow = asset[order], day[order], held[order], seen[order], flow[order]
    trade_row = is_close[order] == 0

    last_trade = _last_index(trade_row, asset)
    quantity = np.where(last_trade >= 0, held[np.maximum(last_trade, 0)], 0.0)
    last_price = _last_index(seen > 0, asset)
    price = np.where(last_price >= 0, seen[np.maximum(last_price, 0)], 0.0)
    value = quantity * price
    first = np.ones(len(asset), bool)
    first[1:] = asset[1:] != asset[:-1]
    before = np.where(first, 0.0, np.roll(value, 1))
    delta = value - before
    counted = (value != 0).astype(np.float64) - (before != 0)

    codes = sorted(set(currencies))
    slot = np.asarray([codes.index(c) for c in currencies], dtype=np.int64)[asset] if len(asset) else asset
    moved = flow != 0
    base_flow = flow[moved]
    for k, code in enumerate(codes):
        rows = slot[moved] == k
        if code != fx.base and rows.any():
            base_flow[rows] *= _rates_at(fx, code, day[moved][rows])
    flow_days, flow_at = np.unique(day[moved], return_inverse=True)
    flow_sum = np.bincount(flow_at, weights=base_flow, minlength=len(flow_days))

    # Each change counts from the first wanted day on or after it: per currency, sum the changes falling
    # before each wanted day (bincount), then accumulate along the days.
    wanted = np.union1d(np.asarray(sorted(d.toordinal() for d in breakpoints), dtype=np.int64), flow_days)
    width = len(wanted) + 1
    bucket = slot * width + np.searchsorted(wanted, day, side="left")
    local = np.bincount(bucket, weights=delta, minlength=len(codes) * width).reshape(len(codes), width)
    valued = np.bincount(bucket, weights=counted, minlength=len(codes) * width).reshape(len(codes), width)
    local, valued = local[:, :-1].cumsum(axis=1), valued[:, :-1].cumsum(axis=1)
    total = np.zeros(len(wanted))
    for k, code in enumerate(codes):
        # At no asset valued the currency's value is exactly 0 (no float residue of the running sum).
        nonzero = (valued[k] > 0.5) & (local[k] != 0)
        if nonzero.any():
            total[nonzero] += local[k][nonzero] * _rates_at(fx, code, wanted[nonzero])
    flows_on = dict(zip(flow_days.tolist(), flow_sum.tolist(), strict=True))
    points: dict[date, Point] = {}
    for ordinal, amount in zip(wanted.tolist(), total.tolist(), strict=True):
        when = date.fromordinal(ordinal)
        points[when] = Point(when, amount, flows_on.get(ordinal, 0.0))
    return points
