"""Insights from a user's expense history (no I/O): month-over-month changes by category, recurring
subscriptions, unusual amounts (robust z-score on the median absolute deviation), likely duplicates
and savings opportunities. Each carries its severity and the numbers behind it."""

import itertools
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pfms_ai.readmodel import Spent
from pfms_finance.currency import quantize

MAD_SCALE = Decimal("1.4826")
"""Makes the median absolute deviation estimate the standard deviation of normal data."""
RECENT_DAYS = 90
MIN_HISTORY = 6
PERIODS = {"weekly": (7, 1), "monthly": (30, 4), "quarterly": (91, 7), "yearly": (365, 10)}
"""Subscription periods: (days, tolerance in days) between consecutive charges."""
AMOUNT_TOLERANCE = Decimal("0.15")
DISCRETIONARY = {
    "Restaurants",
    "Coffee & Snacks",
    "Food & Dining",
    "Events & Outings",
    "Entertainment",
    "Hobbies",
    "Shopping",
    "Clothing",
    "Electronics",
    "Personal Care",
    "Taxi & Rideshare",
    "Subscriptions",
}
SAVING_SHARE = Decimal("0.20")


@dataclass
class Found:
    key: str
    insight_type: str
    kind: str
    title: str
    description: str
    severity: str
    amount: Decimal | None
    currency: str
    day: date | None = None
    category: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def by_month_and_category(spent: list[Spent]) -> dict[str, dict[str, Decimal]]:
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for s in spent:
        totals[month_of(s.day)][s.category] += s.amount
    return totals


def _pct(change: Decimal, base: Decimal) -> Decimal:
    return (change / base * 100).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def month_over_month(
    spent: list[Spent], today: date, currency: str, *, threshold: Decimal, min_change: Decimal = Decimal(10)
) -> list[Found]:
    """The last complete month against the one before, per category, when it moved by `threshold` % or more."""
    last = previous_month(today)
    before = previous_month(last)
    totals = by_month_and_category(spent)
    now, then = totals.get(month_of(last), {}), totals.get(month_of(before), {})
    found = []
    for category in sorted(set(now) | set(then)):
        current, prior = now.get(category, Decimal(0)), then.get(category, Decimal(0))
        change = current - prior
        if prior == 0 or abs(change) < min_change:
            continue
        pct = _pct(change, prior)
        if abs(pct) < threshold:
            continue
        up = change > 0
        severity = ("high" if pct >= 50 else "medium" if pct >= 30 else "low") if up else "low"
        found.append(
            Found(
                key=f"mom:{month_of(last)}:{category}",
                insight_type="spending_pattern",
                kind="month_over_month",
                title=f"{category} spending {'up' if up else 'down'} {abs(pct)}%",
                description=(
                    f"You spent {quantize(current, currency)} {currency} on {category} in {month_of(last)}, "
                    f"{'up' if up else 'down'} from {quantize(prior, currency)} {currency} in {month_of(before)}."
                ),
                severity=severity,
                amount=quantize(change, currency),
                currency=currency,
                day=last,
                category=category,
                metadata={
                    "month": month_of(last),
                    "previous_month": month_of(before),
                    "current": str(quantize(current, currency)),
                    "previous": str(quantize(prior, currency)),
                    "change": str(quantize(change, currency)),
                    "change_percent": str(pct),
                },
            )
        )
    return found


def _period(intervals: list[int]) -> str | None:
    for name, (days, tolerance) in PERIODS.items():
        if all(abs(i - days) <= tolerance for i in intervals):
            return name
    return None


def subscriptions(spent: list[Spent], today: date, currency: str) -> list[Found]:
    """Same merchant, similar amount (±15 % of its median), charged at a regular interval, still running."""
    by_merchant: dict[str, list[Spent]] = defaultdict(list)
    for s in spent:
        if s.merchant:
            by_merchant[s.merchant].append(s)
    found = []
    for merchant, charges in sorted(by_merchant.items()):
        if len(charges) < 3:
            continue
        typical = Decimal(statistics.median([c.amount for c in charges]))
        similar = sorted(
            (c for c in charges if abs(c.amount - typical) <= typical * AMOUNT_TOLERANCE), key=lambda c: c.day
        )
        if len(similar) < 3:
            continue
        intervals = [(b.day - a.day).days for a, b in itertools.pairwise(similar)]
        period = _period(intervals)
        if period is None:
            continue
        days, tolerance = PERIODS[period]
        last = similar[-1]
        if (today - last.day).days > days + tolerance:
            continue  # stopped
        average = sum((c.amount for c in similar), Decimal(0)) / len(similar)
        yearly = average * Decimal(365) / Decimal(days)
        found.append(
            Found(
                key=f"sub:{merchant}",
                insight_type="spending_pattern",
                kind="subscription",
                title=f"Recurring {period} charge: {last.description or merchant}",
                description=(
                    f"{len(similar)} charges of about {quantize(average, currency)} {currency} every "
                    f"{statistics.median(intervals):g} days; about {quantize(yearly, currency)} {currency} a year."
                ),
                severity="low",
                amount=quantize(average, currency),
                currency=currency,
                day=last.day,
                category=last.category,
                metadata={
                    "merchant": merchant,
                    "period": period,
                    "charges": len(similar),
                    "interval_days": intervals,
                    "average_amount": str(quantize(average, currency)),
                    "yearly_cost": str(quantize(yearly, currency)),
                    "next_expected": (last.day + timedelta(days=days)).isoformat(),
                    "expense_ids": [c.id for c in similar],
                },
            )
        )
    return found


def robust_z(value: Decimal, others: list[Decimal]) -> tuple[Decimal, Decimal, Decimal] | None:
    """(z, median, MAD) of `value` against `others`; None when the others do not vary at all."""
    median = Decimal(statistics.median(others))
    mad = Decimal(statistics.median([abs(x - median) for x in others]))
    if mad == 0:
        return None
    return (value - median) / (MAD_SCALE * mad), median, mad


def anomalies(spent: list[Spent], today: date, currency: str, *, threshold: float) -> list[Found]:
    """Recent expenses far above what the user usually pays in that category, or at that merchant."""
    groups: dict[tuple[str, str], list[Spent]] = defaultdict(list)
    for s in spent:
        groups[("category", s.category)].append(s)
        if s.merchant:
            groups[("merchant", s.merchant)].append(s)
    best: dict[str, Found] = {}
    since = today - timedelta(days=RECENT_DAYS)
    for (scope, name), items in sorted(groups.items()):
        if len(items) < MIN_HISTORY + 1:
            continue
        for s in items:
            if s.day < since:
                continue
            scored = robust_z(s.amount, [o.amount for o in items if o.id != s.id])
            if scored is None:
                continue
            z, median, mad = scored
            if z < Decimal(str(threshold)) or (s.id in best and Decimal(best[s.id].metadata["robust_z"]) >= z):
                continue
            z_shown = z.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
            best[s.id] = Found(
                key=f"anomaly:{s.id}",
                insight_type="risk_alert",
                kind="anomaly",
                title=f"Unusual amount at {s.description or name}",
                description=(
                    f"{quantize(s.amount, currency)} {currency} on {s.day.isoformat()} is far above the usual "
                    f"{quantize(median, currency)} {currency} for this {scope} (robust z-score {z_shown})."
                ),
                severity="high" if z >= 2 * Decimal(str(threshold)) else "medium",
                amount=quantize(s.amount, currency),
                currency=currency,
                day=s.day,
                category=s.category,
                metadata={
                    "expense_id": s.id,
                    "scope": scope,
                    "compared_with": name,
                    "median": str(quantize(median, currency)),
                    "mad": str(quantize(mad, currency)),
                    "robust_z": str(z_shown),
                    "samples": len(items) - 1,
                },
            )
    return list(best.values())


def duplicates(spent: list[Spent], today: date, currency: str, *, window_days: int) -> list[Found]:
    """The same amount at the same merchant within `window_days` of each other (recent ones only)."""
    groups: dict[tuple[str, Decimal], list[Spent]] = defaultdict(list)
    for s in spent:
        if s.merchant:
            groups[(s.merchant, s.amount)].append(s)
    since = today - timedelta(days=RECENT_DAYS)
    found = []
    for (merchant, amount), items in sorted(groups.items()):
        items.sort(key=lambda s: (s.day, s.id))
        for first, second in itertools.pairwise(items):
            gap = (second.day - first.day).days
            if gap > window_days or second.day < since:
                continue
            found.append(
                Found(
                    key=f"dup:{second.id}",
                    insight_type="risk_alert",
                    kind="duplicate",
                    title=f"Possible duplicate: {second.description or merchant}",
                    description=(
                        f"Two charges of {quantize(amount, currency)} {currency} at {merchant} "
                        f"{gap} day(s) apart ({first.day.isoformat()} and {second.day.isoformat()})."
                    ),
                    severity="medium",
                    amount=quantize(amount, currency),
                    currency=currency,
                    day=second.day,
                    category=second.category,
                    metadata={"expense_ids": [first.id, second.id], "days_apart": gap, "merchant": merchant},
                )
            )
    return found


def savings(spent: list[Spent], today: date, currency: str, subs: list[Found]) -> list[Found]:
    """Where cutting back would pay most: the biggest discretionary categories of the last three
    complete months (a fifth of their monthly average), and the total of running subscriptions."""
    months = [previous_month(today)]
    for _ in range(2):
        months.append(previous_month(months[-1]))
    totals = by_month_and_category(spent)
    average: dict[str, Decimal] = defaultdict(Decimal)
    for month in months:
        for category, amount in totals.get(month_of(month), {}).items():
            if category in DISCRETIONARY:
                average[category] += amount / len(months)
    found = []
    for category, monthly in sorted(average.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
        saving = monthly * SAVING_SHARE
        if saving < 5:
            continue
        found.append(
            Found(
                key=f"save:{category}",
                insight_type="savings_opportunity",
                kind="savings",
                title=f"Spend less on {category}",
                description=(
                    f"You average {quantize(monthly, currency)} {currency} a month on {category}; spending a fifth "
                    f"less would save {quantize(saving * 12, currency)} {currency} a year."
                ),
                severity="low",
                amount=quantize(saving, currency),
                currency=currency,
                category=category,
                metadata={
                    "monthly_average": str(quantize(monthly, currency)),
                    "months": [month_of(m) for m in months],
                    "monthly_saving": str(quantize(saving, currency)),
                    "yearly_saving": str(quantize(saving * 12, currency)),
                },
            )
        )
    if len(subs) >= 2:
        yearly = sum((Decimal(s.metadata["yearly_cost"]) for s in subs), Decimal(0))
        found.append(
            Found(
                key="save:subscriptions",
                insight_type="savings_opportunity",
                kind="savings",
                title=f"{len(subs)} subscriptions cost {quantize(yearly, currency)} {currency} a year",
                description="Cancelling the ones you no longer use is the easiest saving there is.",
                severity="medium" if len(subs) >= 4 else "low",
                amount=quantize(yearly, currency),
                currency=currency,
                metadata={"subscriptions": [s.metadata["merchant"] for s in subs], "yearly_cost": str(yearly)},
            )
        )
    return found


SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def generate(
    spent: list[Spent],
    today: date,
    currency: str,
    *,
    change_threshold: Decimal,
    anomaly_z: float,
    duplicate_days: int,
) -> list[Found]:
    """Every insight for the history in `currency`, most severe first."""
    mine = [s for s in spent if s.currency == currency]
    subs = subscriptions(mine, today, currency)
    found = (
        month_over_month(mine, today, currency, threshold=change_threshold)
        + subs
        + anomalies(mine, today, currency, threshold=anomaly_z)
        + duplicates(mine, today, currency, window_days=duplicate_days)
        + savings(mine, today, currency, subs)
    )
    return sorted(found, key=lambda f: (SEVERITY_ORDER[f.severity], f.key))
