"""Portfolio analytics (pure): value, P&L, allocation and returns in the portfolio's base currency.

Costs convert at the rate of the day they were paid (a lot at its acquisition date), proceeds and
income at theirs, current values at today's: a currency move shows in unrealized P&L, as it should.
The inputs are the assets' maintained states (`Holding`), so nothing is replayed here.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from pfms_finance.currency import quantize
from pfms_investment.lots import ZERO, Method
from pfms_investment.returns import PERIODS, Point, money_weighted, period_start, simple_return, twr
from pfms_investment.valuation import FxTable, Holding, Series, current_price, walk

PERCENT = Decimal("0.0001")
INFINITY = Decimal("Infinity")
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class AssetMeta:
    id: UUID
    symbol: str
    name: str | None
    asset_type: str
    sector: str | None
    currency: str


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (part / whole * HUNDRED).quantize(PERCENT, rounding=ROUND_HALF_EVEN)


def price_on(series: Sequence[tuple[date, Decimal]], day: date) -> Decimal | None:
    """The last price on or before `day`."""
    i = bisect_right(series, (day, INFINITY))
    return series[i - 1][1] if i else None


def _allocation(rows: list[dict[str, Any]], key: str, total: Decimal, base: str) -> list[dict[str, Any]]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row[key] or "unclassified"] += row["_value_base"]
    return [
        {"key": k, "value": quantize(v, base), "percent": percent(v, total)}
        for k, v in sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _returns(
    points: dict[date, Point], first: date | None, today: date, benchmark: Sequence[tuple[date, Decimal]] | None
) -> list[dict[str, Any]]:
    days = sorted(points)
    ordered = [points[d] for d in days]
    out = []
    for period in PERIODS:
        start = period_start(period, today, first or today)
        start_point = points.get(start)
        start_value = start_point.value if start_point else 0.0
        inside = ordered[bisect_right(days, start) : bisect_right(days, today)]
        end_value = points[today].value if today in points else 0.0
        out.append(
            {
                "period": period,
                "start": start,
                "end": today,
                "twr": twr(start_value, inside),
                "xirr": money_weighted(start, start_value, inside, today, end_value),
                "benchmark": simple_return(price_on(benchmark, start), price_on(benchmark, today))
                if benchmark
                else None,
            }
        )
    return out


def in_base(holding: Holding, currency: str, fx: FxTable) -> tuple[Decimal, Decimal, Decimal]:
    """Open cost, realized P&L and cost put in, each converted at the rate of its own day."""
    if currency == fx.base:
        return holding.cost, holding.realized, holding.cost_in
    cost = realized = cost_in = ZERO
    rates = fx.rates_on(currency, [day for day, _, _, _ in holding.by_day])
    for (_, gained, paid, still_open), rate in zip(holding.by_day, rates, strict=True):
        if gained:
            realized += gained * rate
        if paid:
            cost_in += paid * rate
        if still_open:
            cost += still_open * rate
    return cost, realized, cost_in


def analyse(
    base: str,
    method: Method,
    assets: Sequence[AssetMeta],
    holdings: Sequence[Holding],
    prices: Sequence[Series],
    fx: FxTable,
    today: date,
    benchmark: Sequence[tuple[date, Decimal]] | None = None,
) -> dict[str, Any]:
    """Everything `GET /portfolios/{id}/analytics` answers, from the assets' states and prices."""
    first_ordinal = min((int(h.days[0]) for h in holdings if len(h.days)), default=None)
    first = date.fromordinal(first_ordinal) if first_ordinal is not None else None
    breakpoints = {today}
    if first is not None:
        breakpoints |= {period_start(p, today, first) for p in PERIODS}
    points = walk([a.currency for a in assets], holdings, prices, fx, breakpoints)
    rows: list[dict[str, Any]] = []
    realized = unrealized = invested = cost_in = ZERO
    for meta, holding, observed in zip(assets, holdings, prices, strict=True):
        rate_today = fx.rate(meta.currency, today)
        quantity = holding.quantity
        price = current_price(holding, observed)
        value_local = quantity * price
        value_base = value_local * rate_today
        cost_base, asset_realized, asset_cost_in = in_base(holding, meta.currency, fx)
        realized += asset_realized
        unrealized += value_base - cost_base
        invested += cost_base
        cost_in += asset_cost_in
        rows.append(
            {
                "asset_id": meta.id,
                "symbol": meta.symbol,
                "name": meta.name,
                "asset_type": meta.asset_type,
                "sector": meta.sector,
                "currency": meta.currency,
                "quantity": quantity,
                "price": price if price else None,
                "value": quantize(value_local, meta.currency),
                "cost_basis": quantize(holding.cost, meta.currency),
                "unrealized_pnl": quantize(value_local - holding.cost, meta.currency),
                "unrealized_pnl_percent": percent(value_local - holding.cost, holding.cost),
                "value_base": quantize(value_base, base),
                "realized_pnl_base": quantize(asset_realized, base),
                "_value_base": value_base,
            }
        )
    value = sum((r["_value_base"] for r in rows), ZERO)
    total_return = realized + unrealized
    summary = {
        "base_currency": base,
        "as_of": today,
        "cost_method": method.value,
        "current_value": quantize(value, base),
        "invested": quantize(invested, base),
        "total_cost_in": quantize(cost_in, base),
        "realized_pnl": quantize(realized, base),
        "unrealized_pnl": quantize(unrealized, base),
        "total_return": quantize(total_return, base),
        "total_return_percent": percent(total_return, cost_in),
        "allocation": {
            "asset_type": _allocation(rows, "asset_type", value, base),
            "sector": _allocation(rows, "sector", value, base),
            "currency": _allocation(rows, "currency", value, base),
        },
        "returns": _returns(points, first, today, benchmark),
    }
    for row in rows:
        row["weight_percent"] = percent(row.pop("_value_base"), value)
    summary["assets"] = [r for r in rows if r["quantity"] or r["realized_pnl_base"]]
    return summary
