"""The calculation over HTTP, fed by real income and investment events on the bus; the cache is never stale."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from pfms_contracts.identity import UserDeleted
from pfms_contracts.income import IncomeDeleted, IncomeReceived, IncomeUpdated
from pfms_contracts.investment import RealizedGain, RealizedGainLot, RealizedGainRevised
from pfms_platform.security import mint_service_token
from pfms_tax import store
from pfms_tax.domain import Gain, classify
from pfms_tax.models import FxRate, IncomeFact, RealizedGainFact, TaxCalculation, TaxDeduction, TaxProfile

from .conftest import Harness, Person

pytestmark = pytest.mark.integration


def received(person: Person, amount: str, day: date, *, currency: str = "USD", **extra) -> IncomeReceived:
    values = {
        "user_id": person.user_id,
        "income_id": uuid.uuid4(),
        "source_type": "salary",
        "amount": Decimal(amount),
        "tax_deducted": Decimal(extra.pop("tax_deducted", "0")),
        "net_amount": Decimal(amount),
        "currency": currency,
        "received_date": day,
        **extra,
    }
    return IncomeReceived(**values)


def sold(person: Person, gain: str, bought: date, sold_on: date, **extra) -> RealizedGain:
    values = {
        "user_id": person.user_id,
        "portfolio_id": uuid.uuid4(),
        "asset_id": uuid.uuid4(),
        "transaction_id": uuid.uuid4(),
        "lot_id": uuid.uuid4(),
        "symbol": "AAPL",
        "asset_type": "stock",
        "quantity": Decimal(10),
        "acquisition_date": bought,
        "disposal_date": sold_on,
        "proceeds": Decimal(gain) + 1000,
        "cost": Decimal(1000),
        "gain": Decimal(gain),
        "currency": "USD",
        "cost_method": "fifo",
        **extra,
    }
    return RealizedGain(**values)


async def test_income_events_drive_the_calculation_and_every_event_retires_the_cache(env: Harness) -> None:
    me = env.person()
    await env.profile(me, 2024)
    empty = await env.calculate(me, 2024)
    assert (empty["gross_income"], empty["tax_owed"], empty["cached"]) == ("0.00", "0.00", False)
    assert (await env.calculate(me, 2024))["cached"] is True

    salary = received(me, "45000.00", date(2024, 3, 31), tax_deducted="4000")
    await env.deliver(salary)
    await env.deliver(received(me, "30000.00", date(2024, 9, 30), source_type="freelance"))
    await env.deliver(received(me, "99999.00", date(2023, 12, 31)))  # another tax year
    result = await env.calculate(me, 2024)
    assert result["cached"] is False, "an event retires the cached calculation at once"
    assert (result["gross_income"], result["taxable_income"], result["tax_owed"]) == ("75000.00", "60400.00", "8341.00")
    assert result["income_by_source"] == {"freelance": "30000.00", "salary": "45000.00"}
    assert (result["tax_withheld"], result["balance_due"]) == ("4000.00", "4341.00")
    assert [(b["kind"], b["rate"], b["lower"], b["upper"], b["taxed"], b["tax"]) for b in result["brackets"]] == [
        ("income", "0.10", "0", "11600", "11600.00", "1160.00"),
        ("income", "0.12", "11600", "47150", "35550.00", "4266.00"),
        ("income", "0.22", "47150", "100525", "13250.00", "2915.00"),
    ]
    assert (result["marginal_rate"], result["effective_rate"]) == ("0.22", "0.1112")
    assert "Rev. Proc. 2023-34" in result["regime"]["sources"]["brackets"]

    update = IncomeUpdated(
        **{**salary.model_dump(), "amount": Decimal("40000.00"), "net_amount": Decimal("40000.00")},
        previous_net_amount=salary.net_amount,
        previous_currency="USD",
        previous_received_date=salary.received_date,
    )
    await env.deliver(update)
    assert (await env.calculate(me, 2024))["gross_income"] == "70000.00"

    deleted = IncomeDeleted(
        user_id=me.user_id,
        income_id=salary.income_id,
        source_type="salary",
        net_amount=Decimal("40000.00"),
        currency="USD",
        received_date=salary.received_date,
    )
    await env.deliver(deleted)
    await env.deliver(salary)  # a late redelivery of the first state does not bring it back
    after = await env.calculate(me, 2024)
    assert after["gross_income"] == "30000.00" and after["cached"] is False
    async with env.svc.db.sessions() as session:
        stored = await session.scalar(select(TaxCalculation).where(TaxCalculation.user_id == me.user_id))
        assert stored is not None and stored.tax_owed == Decimal(after["tax_owed"])


async def test_realized_gains_split_short_and_long_and_a_revision_replaces_them(env: Harness) -> None:
    me = env.person()
    await env.profile(me, 2024)
    await env.deliver(received(me, "50000", date(2024, 2, 1)))
    first = sold(me, "20000", date(2022, 1, 10), date(2024, 6, 3))
    await env.deliver(first, source="investment")
    await env.deliver(sold(me, "5000", date(2024, 1, 2), date(2024, 6, 3)), source="investment")
    result = await env.calculate(me, 2024)
    assert (result["short_term_gains"], result["long_term_gains"]) == ("5000.00", "20000.00")
    assert (result["capital_gains_tax"], result["tax_owed"]) == ("2006.25", "6622.25")
    assert [b["tax"] for b in result["brackets"] if b["kind"] == "capital_gains"] == ["0.00", "2006.25"]

    revised = RealizedGainRevised(
        user_id=me.user_id,
        portfolio_id=first.portfolio_id,
        asset_id=first.asset_id,
        transaction_id=first.transaction_id,
        revision=2,
        reason="transaction_edited",
        symbol="AAPL",
        asset_type="stock",
        disposal_date=date(2024, 6, 3),
        currency="USD",
        cost_method="fifo",
        lots=[
            RealizedGainLot(
                lot_id=first.lot_id,
                quantity=Decimal(10),
                acquisition_date=date(2022, 1, 10),
                proceeds=Decimal(11000),
                cost=Decimal(1000),
                gain=Decimal(10000),
            )
        ],
        proceeds=Decimal(11000),
        cost=Decimal(1000),
        gain=Decimal(10000),
    )
    await env.deliver(revised, source="investment")
    stale = revised.model_copy(update={"revision": 1, "lots": []})
    await env.deliver(stale, source="investment")  # an older revision arriving late changes nothing
    await env.deliver(first, source="investment")  # nor does the original lot redelivered
    again = await env.calculate(me, 2024)
    assert (again["long_term_gains"], again["gain_rows"]) == ("10000.00", 2)

    emptied = revised.model_copy(update={"revision": 3, "lots": [], "reason": "transaction_deleted"})
    await env.deliver(emptied, source="investment")
    assert (await env.calculate(me, 2024))["long_term_gains"] == "0.00"


async def test_deductions_and_profile_changes_retire_the_cache(env: Harness) -> None:
    me = env.person()
    await env.profile(me, 2024)
    await env.deliver(received(me, "100000", date(2024, 4, 1)))
    base = await env.calculate(me, 2024)
    assert base["deduction_applied"] == "standard"
    made = await env.client.post(
        "/api/v1/tax/deductions",
        json={"tax_year": 2024, "category": "mortgage_interest", "amount": "20000", "currency": "USD"},
        headers=me.headers,
    )
    assert made.status_code == 201
    itemized = await env.calculate(me, 2024)
    assert (itemized["deduction_applied"], itemized["taxable_income"], itemized["cached"]) == (
        "itemized",
        "80000.00",
        False,
    )
    await env.client.patch(
        f"/api/v1/tax/deductions/{made.json()['data']['id']}", json={"status": "rejected"}, headers=me.headers
    )
    assert (await env.calculate(me, 2024))["deduction_applied"] == "standard"
    await env.profile(me, 2024, filing_status="head_of_household", dependents=1)
    hoh = await env.calculate(me, 2024)
    assert (hoh["filing_status"], hoh["standard_deduction"], hoh["total_credits"]) == (
        "head_of_household",
        "21900.00",
        "2000.00",
    )


async def test_a_profile_carries_forward_and_a_year_without_tables_or_profile_is_refused(env: Harness) -> None:
    me = env.person()
    assert (await env.client.get("/api/v1/tax/calculate", params={"year": 2024}, headers=me.headers)).status_code == 404
    await env.profile(me, 2024, filing_status="married_joint")
    carried = await env.calculate(me, 2025)
    assert (carried["filing_status"], carried["standard_deduction"]) == ("married_joint", "31500.00")
    none = await env.client.get("/api/v1/tax/calculate", params={"year": 2031}, headers=me.headers)
    assert none.status_code == 422 and none.json()["error"]["details"][0]["field"] == "year"
    bad = await env.client.get("/api/v1/tax/calculate", params={"year": "soon"}, headers=me.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "year"


async def test_another_users_income_never_counts_and_the_internal_route_serves_the_report_service(
    env: Harness,
) -> None:
    me, other = env.person(), env.person()
    await env.profile(me, 2024)
    await env.profile(other, 2024)
    await env.deliver(received(me, "75000", date(2024, 5, 5)))
    assert (await env.calculate(other, 2024))["gross_income"] == "0.00"
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    response = await env.client.get(
        "/internal/v1/tax/calculation",
        params={"user_id": str(me.user_id), "year": 2024},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["tax_owed"] == "8341.00"
    user_token = await env.client.get(
        "/internal/v1/tax/calculation", params={"user_id": str(me.user_id), "year": 2024}, headers=me.headers
    )
    assert user_token.status_code == 401


async def test_user_deleted_purges_every_row(env: Harness) -> None:
    me, other = env.person(), env.person()
    for person in (me, other):
        await env.profile(person, 2024)
        await env.deliver(received(person, "1000", date(2024, 1, 5)))
        await env.client.post(
            "/api/v1/tax/deductions",
            json={"tax_year": 2024, "category": "charitable", "amount": "10", "currency": "USD"},
            headers=person.headers,
        )
        await env.calculate(person, 2024)
    await env.deliver(UserDeleted(user_id=me.user_id, deleted_at=datetime.now(UTC)), source="user")
    for model in (TaxProfile, IncomeFact, TaxDeduction, TaxCalculation):
        assert await env.count(model, model.user_id == me.user_id) == 0
        assert await env.count(model, model.user_id == other.user_id) == 1


async def test_income_in_other_currencies_is_converted_at_its_date(with_market: Harness) -> None:
    env = with_market
    me = env.person()
    await env.profile(me, 2024)
    await env.deliver(received(me, "50000", date(2024, 3, 1)))
    await env.deliver(received(me, "10000", date(2024, 3, 1), currency="EUR"))
    result = await env.calculate(me, 2024)
    [conversion] = result["conversions"]
    assert (conversion["currency"], conversion["date"]) == ("EUR", "2024-03-01")
    rate = Decimal(conversion["rate"])
    expected = (Decimal(10000) * rate).quantize(Decimal("0.01"))
    assert Decimal(result["gross_income"]) == Decimal(50000) + expected
    assert await env.count(FxRate) == 1, "the rate is kept: a past day's rate does not change"


async def test_without_market_data_a_foreign_income_fails_with_503(env: Harness) -> None:
    me = env.person()
    await env.profile(me, 2024)
    await env.deliver(received(me, "10000", date(2024, 3, 1), currency="EUR"))
    response = await env.client.get("/api/v1/tax/calculate", params={"year": 2024}, headers=me.headers)
    assert response.status_code == 503 and response.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"


async def test_the_gdpr_export_holds_the_users_rows_only(env: Harness) -> None:
    me, other = env.person(), env.person()
    for person in (me, other):
        await env.profile(person, 2024)
        await env.deliver(received(person, "1000", date(2024, 1, 5)))
        await env.calculate(person, 2024)
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    response = await env.client.get(
        "/internal/v1/export", params={"user_id": str(me.user_id)}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    tables = response.json()["data"]["tables"]
    assert [row["tax_year"] for row in tables["tax_profiles"]] == [2024]
    assert [row["amount"] for row in tables["tax_income"]] in (["1000.0000"], ["1000"], ["1000.00"])
    assert len(tables["tax_calculations"]) == 1 and "tax_fx_rates" not in tables
    assert all(row["user_id"] == str(me.user_id) for rows in tables.values() for row in rows)


async def test_the_database_splits_short_and_long_term_as_the_domain_does(env: Harness) -> None:
    me = env.person()
    pairs = [
        (date(2023, 1, 15), date(2024, 1, 15)),  # exactly one year: short
        (date(2023, 1, 15), date(2024, 1, 16)),
        (date(2023, 2, 28), date(2024, 2, 28)),
        (date(2023, 2, 28), date(2024, 2, 29)),
        (date(2022, 2, 28), date(2024, 2, 29)),
        (date(2023, 3, 31), date(2024, 3, 31)),
        (date(2023, 3, 31), date(2024, 4, 1)),
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2020, 2, 29), date(2021, 2, 28)),  # a leap day's anniversary is 28 February
        (date(2020, 2, 29), date(2021, 3, 1)),
    ]
    lots = [Gain(Decimal(10**i), bought, sold) for i, (bought, sold) in enumerate(pairs)]
    async with env.svc.db.sessions() as session:
        for lot in lots:
            session.add(
                RealizedGainFact(
                    transaction_id=uuid.uuid4(),
                    lot_id=uuid.uuid4(),
                    user_id=me.user_id,
                    symbol="X",
                    quantity=Decimal(1),
                    acquisition_date=lot.acquisition_date,
                    disposal_date=lot.disposal_date,
                    proceeds=lot.gain,
                    cost=Decimal(0),
                    gain=lot.gain,
                    currency="USD",
                )
            )
        await session.commit()
        totals = await store.gain_totals(session, me.user_id, date(2020, 1, 1), date(2024, 12, 31), "USD", 12)
    in_sql = {row.long_term: row[3] for row in totals}
    in_domain = {flag: sum(g.gain for g in classify(lots, 12) if g.long_term is flag) for flag in (True, False)}
    assert in_sql == in_domain
    assert in_domain[False] == Decimal(1 + 10**2 + 10**5 + 10**7 + 10**8)
