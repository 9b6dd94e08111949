"""The bundled tax regimes: one versioned JSON file per country and tax year under `data/`.

Reference data ships with the code instead of living in a table: every replica computes with the
same figures, a change is reviewed like code, and each file names the public source of every
number (tests check the figures against those sources). A calculation records the version it used.
"""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

DeductionKind = Literal["above_the_line", "itemized"]


@dataclass(frozen=True)
class Bracket:
    """Income from `lower` up to the next bracket's `lower` is taxed at `rate`."""

    lower: Decimal
    rate: Decimal


@dataclass(frozen=True)
class Credit:
    name: str
    per_dependent: Decimal
    phase_out_step: Decimal
    phase_out_per_step: Decimal


@dataclass(frozen=True)
class Schedule:
    """What one filing status gets: brackets by kind, the standard deduction and the limits."""

    income: tuple[Bracket, ...]
    capital_gains_long: tuple[Bracket, ...]
    standard_deduction: Decimal
    capital_loss_limit: Decimal
    credit_phase_out_start: Decimal | None
    deduction_caps: dict[str, Decimal]


@dataclass(frozen=True)
class Regime:
    country: str
    tax_year: int
    version: str
    name: str
    currency: str
    period_start: date
    period_end: date
    regions: tuple[str, ...]
    sources: dict[str, str]
    short_term_as_income: bool
    gains_separate_from_income: bool
    gains_exempt_amount: Decimal
    long_term_after_months: int
    taper_start: Decimal | None
    taper_rate: Decimal
    schedules: dict[str, Schedule]
    deduction_categories: dict[str, DeductionKind]
    credits: tuple[Credit, ...]

    def schedule(self, filing_status: str) -> Schedule:
        return self.schedules[filing_status]

    def capital_gains_short(self, filing_status: str) -> tuple[Bracket, ...]:
        """Short-term gains use the ordinary schedule (US) or the one capital gains schedule (UK)."""
        schedule = self.schedules[filing_status]
        return schedule.income if self.short_term_as_income else schedule.capital_gains_long


def _brackets(rows: list[list[str]]) -> tuple[Bracket, ...]:
    return tuple(Bracket(Decimal(lower), Decimal(rate)) for lower, rate in rows)


def _schedule(raw: dict[str, Any]) -> Schedule:
    phase_out = raw.get("credit_phase_out_start")
    return Schedule(
        income=_brackets(raw["income"]),
        capital_gains_long=_brackets(raw["capital_gains_long"]),
        standard_deduction=Decimal(raw["standard_deduction"]),
        capital_loss_limit=Decimal(raw["capital_loss_limit"]),
        credit_phase_out_start=Decimal(phase_out) if phase_out is not None else None,
        deduction_caps={k: Decimal(v) for k, v in raw.get("deduction_caps", {}).items()},
    )


def parse(raw: dict[str, Any]) -> Regime:
    taper = raw.get("allowance_taper")
    return Regime(
        country=raw["country"],
        tax_year=int(raw["tax_year"]),
        version=raw["version"],
        name=raw["name"],
        currency=raw["currency"],
        period_start=date.fromisoformat(raw["period_start"]),
        period_end=date.fromisoformat(raw["period_end"]),
        regions=tuple(raw.get("regions") or ()),
        sources=dict(raw["sources"]),
        short_term_as_income=raw["short_term_gains"] == "income",
        gains_separate_from_income=bool(raw["gains_separate_from_income"]),
        gains_exempt_amount=Decimal(raw["gains_exempt_amount"]),
        long_term_after_months=int(raw["long_term_after_months"]),
        taper_start=Decimal(taper["start"]) if taper else None,
        taper_rate=Decimal(taper["rate"]) if taper else Decimal(0),
        schedules={status: _schedule(s) for status, s in raw["filing_statuses"].items()},
        deduction_categories=dict(raw["deduction_categories"]),
        credits=tuple(
            Credit(
                c["name"], Decimal(c["per_dependent"]), Decimal(c["phase_out_step"]), Decimal(c["phase_out_per_step"])
            )
            for c in raw["credits"]
        ),
    )


@cache
def bundled() -> dict[tuple[str, int], Regime]:
    """Every regime shipped in `data/`, keyed by (country, tax year)."""
    folder = resources.files("pfms_tax").joinpath("data")
    regimes = (parse(json.loads(f.read_text(encoding="utf-8"))) for f in folder.iterdir() if f.name.endswith(".json"))
    return {(r.country, r.tax_year): r for r in regimes}


def find(country: str, tax_year: int) -> Regime | None:
    return bundled().get((country.upper(), tax_year))


def tax_year_of(country: str, day: date) -> int:
    """The tax year a day falls in (the UK's 2025 runs to 5 April 2026); the calendar year when no
    bundled regime of the country covers the day."""
    for regime in bundled().values():
        if regime.country == country.upper() and regime.period_start <= day <= regime.period_end:
            return regime.tax_year
    return day.year


def _rows(brackets: tuple[Bracket, ...]) -> list[dict[str, Any]]:
    uppers = [b.lower for b in brackets[1:]] + [None]
    return [{"lower": b.lower, "upper": upper, "rate": b.rate} for b, upper in zip(brackets, uppers, strict=True)]


def summary(regime: Regime) -> dict[str, Any]:
    return {
        "country": regime.country,
        "tax_year": regime.tax_year,
        "version": regime.version,
        "name": regime.name,
        "currency": regime.currency,
        "filing_statuses": list(regime.schedules),
    }


def describe(regime: Regime) -> dict[str, Any]:
    """The whole regime for the API: brackets per filing status and kind, with their sources."""
    return {
        **summary(regime),
        "period_start": regime.period_start,
        "period_end": regime.period_end,
        "regions": list(regime.regions),
        "sources": regime.sources,
        "gains_exempt_amount": regime.gains_exempt_amount,
        "long_term_after_months": regime.long_term_after_months,
        "deduction_categories": regime.deduction_categories,
        "credits": [c.__dict__ for c in regime.credits],
        "filing_statuses": [
            {
                "filing_status": status,
                "income": _rows(s.income),
                "capital_gains_short": _rows(regime.capital_gains_short(status)),
                "capital_gains_long": _rows(s.capital_gains_long),
                "standard_deduction": s.standard_deduction,
                "capital_loss_limit": s.capital_loss_limit,
                "credit_phase_out_start": s.credit_phase_out_start,
                "deduction_caps": s.deduction_caps,
            }
            for status, s in regime.schedules.items()
        ],
    }
