"""Portfolio analytics (pure): value, P&L, allocation and returns in the portfolio's base currency.

Costs convert at the rate of the day they were paid (a lot at its acquisition date), proceeds and
income at theirs, current values at today's: a currency move shows in unrealized P&L, as it should.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from pfms_finance.currency import quantize
from pfms_investment.lots import ACQUIRES, ZERO, Method, Txn
from pfms_investment.returns import PERIODS, Point, money_weighted, period_start, simple_return, twr
from pfms_investment.valuation import Asset, FxTable, walk

PERCENT = Decimal("0.0001")
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
    found = None
    for when, price in series:
        if when > day:
            break
        found = price
    return found


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
    out = []
    for period in PERIODS:
        start = period_start(period, today, first or today)
        start_point = points.get(start)
        start_value = start_point.value if start_point else ZERO
        inside = [points[d] for d in days if start < d <= today]
        end_value = points[today].value if today in points else ZERO
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


def analyse(
    base: str,
    method: Method,
    assets: Sequence[AssetMeta],
    txns: Sequence[Sequence[Txn]],
    prices: Sequence[Sequence[tuple[date, Decimal]]],
    fx: FxTable,
    today: date,
    benchmark: Sequence[tuple[date, Decimal]] | None = None,
) -> dict[str, Any]:
    """Everything `GET /portfolios/{id}/analytics` answers, from the portfolio's full history."""
    first = min((h[0].day for h in txns if h), default=None)
    breakpoints = {today}
    if first is not None:
        breakpoints |= {period_start(p, today, first) for p in PERIODS}
    result = walk([Asset(a.id, a.currency) for a in assets], txns, method, prices, fx, breakpoints)
    rows: list[dict[str, Any]] = []
    realized = unrealized = invested = cost_in = ZERO
    for meta, history, position, price in zip(assets, txns, result.positions, result.prices, strict=True):
        rate_today = fx.rate(meta.currency, today)
        quantity = position.quantity
        value_local = quantity * price
        value_base = value_local * rate_today
        if meta.currency == base:
            cost_base, asset_realized, asset_cost_in = position.cost, position.realized, position.cost_in
        else:
            cost_base = sum((fx.convert(lot.cost, meta.currency, lot.acquired) for lot in position.lots), ZERO)
            gains = sum(
                (
                    fx.convert(d.proceeds, meta.currency, d.disposed) - fx.convert(d.cost, meta.currency, d.acquired)
                    for d in position.disposals
                ),
                ZERO,
            )
            income = sum((fx.convert(amount, meta.currency, day) for day, amount in position.income), ZERO)
            asset_realized = gains + income
            asset_cost_in = sum(
                (fx.convert(t.gross + t.fees + t.tax, meta.currency, t.day) for t in history if t.kind in ACQUIRES),
                ZERO,
            )
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
                "cost_basis": quantize(position.cost, meta.currency),
                "unrealized_pnl": quantize(value_local - position.cost, meta.currency),
                "unrealized_pnl_percent": percent(value_local - position.cost, position.cost),
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
        "returns": _returns(result.points, first, today, benchmark),
    }
    for row in rows:
        row["weight_percent"] = percent(row.pop("_value_base"), value)
    summary["assets"] = [r for r in rows if r["quantity"] or r["realized_pnl_base"]]
    return summary
