"""Monthly cash-flow forecasts (no I/O), in Decimal: seasonal-naive with drift when two years of history
exist, otherwise a recent level with a robust (Theil-Sen) trend; prediction intervals are empirical —
quantiles of the method's own one-step errors on the history, widened with the horizon."""

import math
import statistics
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

SEASON = 12
LEVEL_MONTHS = 3
TREND_MONTHS = 12
MIN_HISTORY = 3


@dataclass(frozen=True)
class Band:
    point: Decimal
    lower80: Decimal
    upper80: Decimal
    lower95: Decimal
    upper95: Decimal


@dataclass(frozen=True)
class Forecast:
    method: str
    points: list[Band]
    scale80: Decimal
    scale95: Decimal


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def monthly(items: list[tuple[date, Decimal]], first: int, last: int) -> list[Decimal]:
    """Totals per month from month index `first` to `last` inclusive; a month without items is zero."""
    totals = [Decimal(0)] * (last - first + 1)
    for day, amount in items:
        i = month_index(day) - first
        if 0 <= i < len(totals):
            totals[i] += amount
    return totals


def theil_sen(series: list[Decimal]) -> Decimal:
    """Median of the slopes between every pair of points: a trend one odd month cannot drag."""
    slopes = [(series[j] - series[i]) / (j - i) for i in range(len(series)) for j in range(i + 1, len(series))]
    return Decimal(statistics.median(slopes)) if slopes else Decimal(0)


def quantile(values: list[Decimal], q: Decimal) -> Decimal:
    """Empirical quantile by linear interpolation between order statistics."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _errors_scale(errors: list[Decimal], series: list[Decimal]) -> tuple[Decimal, Decimal]:
    if len(errors) >= 2:
        absolute = [abs(e) for e in errors]
        return quantile(absolute, Decimal("0.8")), quantile(absolute, Decimal("0.95"))
    spread = Decimal(statistics.pstdev(series)) if len(series) > 1 else Decimal(0)
    return spread * Decimal("1.2816"), spread * Decimal("1.96")


def forecast(series: list[Decimal], horizon: int) -> Forecast:
    """Forecast `horizon` months after the last one of `series` (complete months, oldest first)."""
    n = len(series)
    if n < MIN_HISTORY:
        raise ValueError(f"at least {MIN_HISTORY} complete months of history are needed")
    if n >= 2 * SEASON:
        diffs = [series[t] - series[t - SEASON] for t in range(SEASON, n)]
        drift = sum(diffs, Decimal(0)) / len(diffs) / SEASON
        errors = [series[t] - (series[t - SEASON] + drift * SEASON) for t in range(SEASON, n)]
        s80, s95 = _errors_scale(errors, series)
        points = []
        for h in range(1, horizon + 1):
            k = math.ceil(h / SEASON)
            point = series[n - 1 + h - SEASON * k] + drift * SEASON * k
            points.append(_band(point, s80, s95, Decimal(k).sqrt()))
        return Forecast("seasonal_naive_drift", points, s80, s95)
    recent = series[-TREND_MONTHS:]
    slope = theil_sen(recent)
    level = sum(series[-LEVEL_MONTHS:], Decimal(0)) / min(LEVEL_MONTHS, n)
    # the level is the mean of the last three months, centred one month before the last
    errors = [
        series[t] - (sum(series[t - LEVEL_MONTHS : t], Decimal(0)) / LEVEL_MONTHS + slope * 2)
        for t in range(LEVEL_MONTHS, n)
    ]
    s80, s95 = _errors_scale(errors, series)
    bands = [_band(level + slope * (h + 1), s80, s95, Decimal(h).sqrt()) for h in range(1, horizon + 1)]
    return Forecast("level_trend", bands, s80, s95)


def _band(point: Decimal, s80: Decimal, s95: Decimal, widen: Decimal) -> Band:
    """Money cannot go negative: the point and the lower bounds stop at zero."""
    zero = Decimal(0)
    return Band(
        max(point, zero),
        max(point - s80 * widen, zero),
        max(point + s80 * widen, zero),
        max(point - s95 * widen, zero),
        max(point + s95 * widen, zero),
    )


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
