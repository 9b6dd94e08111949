"""The cash-flow projection over HTTP: the series, its parameters, the stored latest projection and the cache."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from pfms_income import cashflow, domain
from pfms_income.cashflow import LatestWriter
from pfms_income.domain import ZERO
from pfms_income.models import CashflowProjection
from pfms_income.schemas import CashflowProjection as CashflowProjectionBody
from pfms_platform.envelope import Envelope

from .conftest import error_fields

pytestmark = pytest.mark.integration

URL = "/api/v1/income/cashflow/projection"
SOURCES = "/api/v1/income/sources"
TODAY = datetime.now(UTC).date()


async def add_source(env, person, **body) -> dict:
    response = await env.client.post(SOURCES, json={"name": "Pay", "type": "salary", **body}, headers=person.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def test_expected_income_from_sources_builds_the_daily_series(env) -> None:
    me = env.person()
    payday = TODAY + timedelta(days=3)
    await add_source(env, me, amount="2500.00", currency="USD", frequency="monthly", start_date=payday.isoformat())
    await add_source(env, me, name="Side", type="freelance", currency="USD")  # irregular: expects nothing
    body = await env.projection(me, days=60, starting_balance="100.50", threshold="50")

    assert (body["currency"], body["as_of"], body["days"], body["cached"]) == ("USD", TODAY.isoformat(), 60, False)
    assert (body["starting_balance"], body["threshold"], body["daily_burn"]) == ("100.50", "50.00", "0.00")
    series = body["series"]
    assert [d["date"] for d in series] == [(TODAY + timedelta(days=k)).isoformat() for k in range(1, 61)]
    incomes = {d["date"]: d["expected_income"] for d in series if d["expected_income"] != "0.00"}
    assert payday.isoformat() in incomes and set(incomes.values()) == {"2500.00"} and len(incomes) == 2
    assert series[-1]["projected_balance"] == body["ending_balance"] == "5100.50"
    assert body["total_expected_income"] == "5000.00" and body["total_expected_expenses"] == "0.00"
    assert body["warning_dates"] == [] and body["other_currencies"] == []
    assert [d["notes"] for d in series if d["date"] == payday.isoformat()] == [["+2500.00 Pay"]]
    confidences = [d["confidence"] for d in series]
    assert confidences[0] == 0.99 and confidences == sorted(confidences, reverse=True)


async def test_the_answer_is_exactly_the_documented_model(env) -> None:
    """The route answers without re-validating; the documented model, applied, must change nothing."""
    me = env.person()
    await add_source(env, me, amount="1000", currency="KWD", frequency="weekly", start_date=TODAY.isoformat())
    await add_source(env, me, amount="12.5", currency="USD", frequency="daily", start_date=TODAY.isoformat())
    for params in ({"days": 365, "starting_balance": "-20.5"}, {"days": 7, "currency": "KWD", "threshold": "1.125"}):
        response = await env.client.get(URL, params=params, headers=me.headers)
        envelope = response.json()
        assert Envelope[CashflowProjectionBody].model_validate(envelope).model_dump(mode="json") == envelope
    assert envelope["data"]["series"][0]["expected_income"] in ("0.000", "1000.000")


async def test_the_latest_projection_is_kept_in_the_table(env) -> None:
    me = env.person()
    await env.projection(me, days=10, starting_balance="-3")
    await env.projection(me, days=5, starting_balance="7")
    async with env.svc.db.sessions() as session:
        rows = (
            await session.scalars(
                select(CashflowProjection)
                .where(CashflowProjection.user_id == me.user_id)
                .order_by(CashflowProjection.projection_date)
            )
        ).all()
    assert [r.projection_date for r in rows] == [TODAY + timedelta(days=k) for k in range(1, 6)]
    assert {r.projected_balance for r in rows} == {Decimal("7")} and rows[0].confidence_score == Decimal("0.99")
    assert rows[0].currency == "USD" and rows[0].expected_income == 0


async def test_a_burst_of_projections_writes_only_the_newest_after_the_running_write(env, monkeypatch) -> None:
    """One write per user in flight: the ones submitted meanwhile collapse into the newest."""
    me = env.person()
    writer = LatestWriter()
    balances = [Decimal(n) for n in range(1, 6)]
    projections = [
        domain.project(domain.ProjectionInput(today=TODAY, days=3, currency="USD", starting_balance=b, threshold=ZERO))
        for b in balances
    ]
    writes: list[Decimal] = []
    keep = cashflow.keep_latest

    async def counting(db, user_id, result, calculated_at) -> None:
        writes.append(result.starting_balance)
        await keep(db, user_id, result, calculated_at)

    monkeypatch.setattr(cashflow, "keep_latest", counting)
    await asyncio.gather(*(writer.submit(env.svc.db, me.user_id, p, datetime.now(UTC)) for p in projections))
    assert writes == [balances[0], balances[-1]]

    # With a delay, projections arriving one after the other within it are one write of the newest.
    writes.clear()
    delayed = LatestWriter(delay=0.3)
    first = asyncio.create_task(delayed.submit(env.svc.db, me.user_id, projections[0], datetime.now(UTC)))
    for p in projections[1:]:
        await asyncio.sleep(0.01)
        await delayed.submit(env.svc.db, me.user_id, p, datetime.now(UTC))
    await first
    assert writes == [balances[-1]]
    async with env.svc.db.sessions() as session:
        stored = await session.scalars(
            select(CashflowProjection.projected_balance).where(CashflowProjection.user_id == me.user_id)
        )
        assert set(stored) == {balances[-1]}


async def test_a_cached_projection_is_served_until_an_input_changes(env) -> None:
    me = env.person()
    first = await env.projection(me, days=30, starting_balance="1000")
    again = await env.projection(me, days=30, starting_balance="1000.00")
    assert again["cached"] is True and {**again, "cached": False} == first
    other_params = await env.projection(me, days=30, starting_balance="999")
    assert other_params["cached"] is False

    await add_source(
        env, me, amount="10", currency="USD", frequency="daily", start_date=(TODAY + timedelta(days=1)).isoformat()
    )
    after = await env.projection(me, days=30, starting_balance="1000")
    assert after["cached"] is False and after["ending_balance"] == "1300.00"


async def test_the_cache_can_be_turned_off(make_service, jwt_keys) -> None:
    svc = await make_service("income", projection_cache_seconds=0)
    headers = jwt_keys.auth(uuid.uuid4())
    for _ in range(2):
        response = await svc.client.get(URL, params={"days": 3}, headers=headers)
        assert response.json()["data"]["cached"] is False


async def test_other_currencies_are_reported_apart(env) -> None:
    me = env.person()
    start = (TODAY + timedelta(days=2)).isoformat()
    await add_source(env, me, amount="100000", currency="JPY", frequency="one_time", start_date=start)
    body = await env.projection(me, days=7, currency="eur")
    assert body["currency"] == "EUR" and body["total_expected_income"] == "0.00"
    assert body["other_currencies"] == [
        {"currency": "JPY", "daily_burn": "0", "expected_income": "100000", "expected_expenses": "0"}
    ]


async def test_warning_dates_where_the_balance_drops_below_the_threshold(env) -> None:
    me = env.person()
    body = await env.projection(me, days=3, starting_balance="10", threshold="20")
    assert body["warning_dates"] == [(TODAY + timedelta(days=1)).isoformat()]
    assert all(d["below_threshold"] for d in body["series"])
    assert body["lowest_balance"] == "10.00"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 0}, "days"),
        ({"days": 366}, "days"),
        ({"days": "year"}, "days"),
        ({"starting_balance": "abc"}, "starting_balance"),
        ({"starting_balance": "1.001"}, "starting_balance"),
        ({"threshold": "0.5", "currency": "JPY"}, "threshold"),
        ({"currency": "EURO"}, "currency"),
        ({"horizon": 30}, "horizon"),
    ],
)
async def test_bad_parameters_are_refused_naming_the_field(env, params, field) -> None:
    me = env.person()
    response = await env.client.get(URL, params=params, headers=me.headers)
    assert response.status_code == 422, response.text
    assert field in error_fields(response)
    assert await env.count(CashflowProjection, CashflowProjection.user_id == me.user_id) == 0


async def test_a_projection_needs_a_token_and_shows_only_the_callers_income(env) -> None:
    owner, other = env.person(), env.person()
    await add_source(env, owner, amount="50", currency="USD", frequency="daily", start_date=TODAY.isoformat())
    assert (await env.client.get(URL)).status_code == 401
    assert (await env.projection(other, days=5))["total_expected_income"] == "0.00"
    assert (await env.projection(owner, days=5))["total_expected_income"] == "250.00"
