"""Expenses in the user's currency: conversion at market-data's rate of each expense's date, the rate
cache, outages (reported apart, converted later), a currency change, budgets across currencies."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, literal, select

from pfms_contracts.identity import UserUpdated
from pfms_expense import fx
from pfms_expense.models import Expense, FxRate
from pfms_finance.currency import quantize

from .test_imports_api import finished, upload

URL = "/api/v1/expenses"
MONTH = {"group_by": "month", "date_from": "2024-03-01", "date_to": "2024-03-31"}


@pytest.mark.parametrize(
    ("amount", "rate", "currency", "expected"),
    [
        ("10.00", "1.0825", "USD", "10.82"),  # 10.825: a tie goes to the even cent
        ("10.00", "1.0835", "USD", "10.84"),  # 10.835: the even neighbour is up
        ("1.00", "150.5", "JPY", "150"),  # no minor unit: 150.5 → 150
        ("1.00", "151.5", "JPY", "152"),
        ("3.333", "1", "KWD", "3.333"),
        ("0.01", "0.3", "EUR", "0.00"),
    ],
)
def test_conversion_rounds_half_even_to_the_target_minor_unit(amount, rate, currency, expected) -> None:
    assert fx.convert(Decimal(amount), Decimal(rate), currency) == Decimal(expected)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2)
rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=4)


@given(amount=amounts, rate=rates)
def test_a_converted_amount_is_within_half_a_minor_unit(amount, rate) -> None:
    converted = fx.convert(amount, rate, "USD")
    assert converted == converted.quantize(Decimal("0.01")) and abs(converted - amount * rate) <= Decimal("0.005")


@pytest.mark.integration
async def test_the_sql_rounding_is_the_python_rounding(env) -> None:
    cases = [
        (Decimal(a), Decimal(r), cur)
        for a, r in [("10.00", "1.0825"), ("10.00", "1.0835"), ("1.00", "150.5"), ("1.00", "151.5"), ("2.50", "1")]
        for cur in ("USD", "JPY", "KWD")
    ] + [(Decimal("123.45"), Decimal("0.916758"), "EUR"), (Decimal("0.05"), Decimal("0.5"), "USD")]
    async with env.svc.db.sessions() as session:
        for amount, rate, currency in cases:
            got = await session.scalar(select(fx.converted_sql(literal(amount), literal(rate), currency)))
            assert Decimal(got) == fx.convert(amount, rate, currency), (amount, rate, currency)


async def rate(env, base: str, quote: str, day: str) -> Decimal:
    async with env.svc.db.sessions() as session:
        found = await session.scalar(
            select(FxRate.rate).where(FxRate.base == base, FxRate.quote == quote, FxRate.day == date.fromisoformat(day))
        )
    assert found is not None, (base, quote, day)
    return Decimal(found)


async def summary(env, person, **params) -> dict:
    return env.data(await env.client.get(f"{URL}/summary", params={**MONTH, **params}, headers=person.headers))


@pytest.mark.integration
async def test_an_expense_in_another_currency_is_summed_converted_at_its_dates_rate(fx_env) -> None:
    env = fx_env
    alice = await env.signup()
    eur = await env.expense(alice, amount="80.00", currency="EUR", expense_date="2024-03-15")
    await env.expense(alice, amount="20.00", currency="USD", expense_date="2024-03-16")
    await env.expense(alice, amount="5000", currency="JPY", expense_date="2024-03-16")
    eur_usd, jpy_usd = await rate(env, "EUR", "USD", "2024-03-15"), await rate(env, "JPY", "USD", "2024-03-16")
    assert Decimal("1.0") < eur_usd < Decimal("1.2")  # the ECB reference rate of that day
    expected = fx.convert(Decimal(80), eur_usd, "USD") + Decimal("20.00") + fx.convert(Decimal(5000), jpy_usd, "USD")

    body = await summary(env, alice)
    assert (body["currency"], body["total"], body["unconverted"]) == ("USD", str(expected), [])
    assert body["lines"] == [{"key": "2024-03", "label": "2024-03", "total": str(expected), "count": 3}]
    async with env.svc.db.sessions() as session:
        row = await session.get(Expense, eur["id"])
    assert row is not None and (row.user_currency, row.fx_rate) == ("USD", eur_usd)
    assert row.amount_in_user_currency == fx.convert(Decimal(80), eur_usd, "USD")

    # A change of amount is converted again; of the date, at the new date's rate.
    patched = await env.client.patch(f"{URL}/{eur['id']}", json={"expense_date": "2024-03-18"}, headers=alice.headers)
    assert patched.status_code == 200
    moved = fx.convert(Decimal(80), await rate(env, "EUR", "USD", "2024-03-18"), "USD")
    body = await summary(env, alice)
    assert body["total"] == str(moved + Decimal("20.00") + fx.convert(Decimal(5000), jpy_usd, "USD"))


@pytest.mark.integration
async def test_an_import_asks_market_data_once_per_currency_and_day(fx_env) -> None:
    env = fx_env
    alice = await env.signup()
    lines = ["Date,Amount,Currency,Text"] + [
        f"2024-02-{day:02d},-{n + 1}.{day:02d},{cur},shop {day} {n} {cur}"
        for day in (5, 6, 7)
        for n in range(40)
        for cur in ("EUR", "GBP", "USD")
    ]
    mapping = {"date": "Date", "amount": "Amount", "currency": "Currency", "description": ["Text"]}
    batch = await upload(env, alice, "many.csv", "\n".join(lines).encode(), mapping=mapping)
    report = await finished(env, alice, batch["id"])
    assert (report["status"], report["successful_rows"]) == ("completed", 360)
    assert await env.count(FxRate, FxRate.quote == "USD") == 6  # 2 currencies x 3 days, not 240 calls
    assert await env.count(Expense, Expense.user_id == alice.user_id, Expense.amount_in_user_currency.is_(None)) == 0
    async with env.svc.db.sessions() as session:
        total = await session.scalar(
            select(func.sum(Expense.amount_in_user_currency)).where(Expense.user_id == alice.user_id)
        )
    body = await summary(env, alice, date_from="2024-02-01", date_to="2024-02-29")
    assert body["total"] == str(quantize(total, "USD")) and body["unconverted"] == []


@pytest.mark.integration
async def test_during_an_outage_the_rows_are_reported_apart_then_converted_when_market_data_is_back(
    fx_env, market
) -> None:
    env = fx_env
    alice = await env.signup()
    await env.expense(alice, amount="10.00", currency="USD", expense_date="2024-03-04")
    await market.stop()
    response = await env.client.post(
        URL, json={"amount": "50.00", "currency": "EUR", "expense_date": "2024-03-05"}, headers=alice.headers
    )
    assert response.status_code == 201  # the expense is recorded; only its conversion waits
    body = await summary(env, alice)
    assert body["total"] == "10.00"
    assert body["unconverted"] == [{"currency": "EUR", "total": "50.00", "count": 1}]

    await market.start()
    settled: dict = {}

    async def converted() -> bool:
        nonlocal settled
        settled = await summary(env, alice)
        return settled["unconverted"] == []

    await env.until(converted, timeout=30)
    expected = fx.convert(Decimal(50), await rate(env, "EUR", "USD", "2024-03-05"), "USD") + Decimal("10.00")
    assert settled["total"] == str(expected)


@pytest.mark.integration
async def test_a_new_profile_currency_reconverts_every_expense_in_the_background(fx_env) -> None:
    env = fx_env
    alice = await env.signup()
    await env.expense(alice, amount="10.00", currency="USD", expense_date="2024-03-04")
    await env.expense(alice, amount="7.00", currency="EUR", expense_date="2024-03-05")
    await env.publish(UserUpdated(user_id=alice.user_id, section="profile", changes={"currency": "EUR"}))
    settled: dict = {}

    async def in_euros() -> bool:
        nonlocal settled
        settled = await summary(env, alice)
        return settled["currency"] == "EUR" and settled["unconverted"] == []

    await env.until(in_euros, timeout=30)
    expected = fx.convert(Decimal(10), await rate(env, "USD", "EUR", "2024-03-04"), "EUR") + Decimal("7.00")
    assert settled["total"] == str(expected)


@pytest.mark.integration
async def test_a_budget_counts_every_currency_converted_into_its_own(fx_env) -> None:
    env = fx_env
    alice = await env.signup()
    budget = env.data(
        await env.client.post(
            "/api/v1/budgets",
            json={
                "name": "March",
                "amount": "100.00",
                "currency": "GBP",
                "period": "monthly",
                "start_date": "2024-03-01",
            },
            headers=alice.headers,
        )
    )
    await env.expense(alice, amount="50.00", currency="EUR", expense_date="2024-03-05")
    await env.expense(alice, amount="40.00", currency="USD", expense_date="2024-03-06")
    await env.expense(alice, amount="5.00", currency="GBP", expense_date="2024-03-07")
    status = env.data(
        await env.client.get(
            f"/api/v1/budgets/{budget['id']}/status", params={"on": "2024-03-10"}, headers=alice.headers
        )
    )
    expected = (
        fx.convert(Decimal(50), await rate(env, "EUR", "GBP", "2024-03-05"), "GBP")
        + fx.convert(Decimal(40), await rate(env, "USD", "GBP", "2024-03-06"), "GBP")
        + Decimal("5.00")
    )
    assert (status["spent"], status["unconverted"]) == (str(expected), {})
    assert Decimal("70") < expected < Decimal("90")
    crossed = [e["threshold_percent"] for e in await env.outbox("budget.threshold_reached")]
    assert crossed == [50]
