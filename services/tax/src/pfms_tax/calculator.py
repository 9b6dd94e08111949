"""The calculation as a service: gather a user's inputs, convert them, compute, cache.

The cache never serves a stale answer: a stored calculation is returned only while the user's input
version (bumped by every profile, deduction, income or gain change in the same transaction) and the
regime file's version are the ones it was computed from. Otherwise it is computed again and stored.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.errors import Invalid, NotFound
from pfms_platform.internal import InternalClient
from pfms_tax import domain, fx, regimes, store
from pfms_tax.schemas import CalculationOut


def regime_of(country: str, year: int) -> regimes.Regime:
    regime = regimes.find(country, year)
    if regime is None:
        raise Invalid(f"No bundled tax tables for {country} {year}", field="year")
    return regime


async def calculation(session: AsyncSession, market: InternalClient, user_id: uuid.UUID, year: int) -> dict[str, Any]:
    version = await store.inputs_version(session, user_id)
    profile = await store.profile_for(session, user_id, year)
    if profile is None:
        raise NotFound(f"No tax profile for {year} or an earlier year; create one with PUT /api/v1/tax/profiles/{year}")
    regime = regime_of(profile.country_code, year)
    if profile.filing_status not in regime.schedules:
        raise Invalid(f"Filing status {profile.filing_status} does not exist in {regime.name}", field="filing_status")
    held = await store.cached(session, user_id, year)
    if held is not None and held.inputs_version == version and held.regime_version == regime.version:
        return {**held.calculation_details, "cached": True}

    incomes = await store.income_totals(session, user_id, regime.period_start, regime.period_end, regime.currency)
    gains = await store.gain_totals(
        session, user_id, regime.period_start, regime.period_end, regime.currency, regime.long_term_after_months
    )
    deductions = await store.counted_deductions(session, user_id, year, domain.COUNTED_STATUSES)
    end = regime.period_end
    pairs = [(i.currency, i.day) for i in incomes if i.day is not None]
    pairs += [(g.currency, g.day) for g in gains if g.day is not None]
    pairs += [(d.currency, d.deduction_date or end) for d in deductions]
    rates = await fx.rates(session, market, regime.currency, pairs)
    convert = rates.convert
    result = domain.calculate(
        regime,
        profile.filing_status,
        profile.dependents,
        [
            domain.Income(convert(i[3], i.currency, i.day), convert(i[4], i.currency, i.day), i.source_type, i[5])
            for i in incomes
        ],
        [domain.GainTotal(convert(g[3], g.currency, g.day), g.long_term, g[4]) for g in gains],
        [domain.Deduction(d.category, convert(d.amount, d.currency, d.deduction_date or end)) for d in deductions],
    )
    details = shape(result, regime, profile, year, rates.used())
    await store.save_calculation(
        session,
        {
            "user_id": user_id,
            "tax_year": year,
            "inputs_version": version,
            "regime_version": regime.version,
            "currency": regime.currency,
            "total_income": result.total_income,
            "taxable_income": result.taxable_income,
            "total_deductions": result.total_deductions,
            "tax_owed": result.tax_owed,
            "capital_gains_tax": result.capital_gains_tax,
            "calculation_details": details,
            "calculated_at": datetime.now(UTC),
        },
    )
    return {**details, "cached": False}


def shape(
    result: domain.Calculation, regime: regimes.Regime, profile: Any, year: int, conversions: list[dict[str, str]]
) -> dict[str, Any]:
    """The JSON the API returns (and the cache keeps): the domain result plus what it was computed from."""
    out = CalculationOut.model_validate(
        {
            **result.__dict__,
            "tax_year": year,
            "country": regime.country,
            "region": profile.region,
            "filing_status": profile.filing_status,
            "dependents": profile.dependents,
            "regime": {
                "name": regime.name,
                "version": regime.version,
                "period_start": regime.period_start,
                "period_end": regime.period_end,
                "sources": regime.sources,
            },
            "conversions": conversions,
            "calculated_at": datetime.now(UTC),
            "cached": False,
        },
        from_attributes=True,
    )
    return out.model_dump(mode="json", exclude={"cached"})
