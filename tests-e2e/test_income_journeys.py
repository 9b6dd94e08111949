"""Issue 4, income side, through the gateway: income recorded is announced once and expected income
is projected; an expense recorded in the expense service moves the projection at once (the income
service learns it from `expense.created`, never from the expense database); other people's income
is a 404. (A new recurring expense reaching the projection is in test_expense_journeys.py.)"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from journeys import BusTap, settle, sign_up

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e

PROJECTION = "/api/v1/income/cashflow/projection"


async def test_income_is_announced_once_and_its_source_projected(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway, wait_profile=False)
    today = datetime.now(UTC).date()
    payday = today + timedelta(days=10)  # beyond the early-payment grace of the income recorded today
    source = await gateway.post(
        "/api/v1/income/sources",
        json={
            "name": "Acme payroll",
            "type": "salary",
            "amount": "3200.00",
            "currency": "USD",
            "frequency": "monthly",
            "start_date": payday.isoformat(),
        },
        headers=person.headers,
    )
    assert source.status_code == 201, source.text
    source_id = source.json()["data"]["id"]

    tap = await BusTap.open(fleet, "financial.events", "income.received")
    try:
        recorded = await gateway.post(
            "/api/v1/income/transactions",
            json={"source_id": source_id, "amount": "4000.00", "tax_deducted": "800.00", "date": today.isoformat()},
            headers=person.headers,
        )
        assert recorded.status_code == 201, recorded.text
        income = recorded.json()["data"]
        assert income["net_amount"] == "3200.00"
        event = await tap.wait("income.received", income_id=income["id"])
        assert event["source"] == "income" and event["data"]["user_id"] == person.user_id
        assert Decimal(event["data"]["net_amount"]) == Decimal("3200.00")
        await settle()
        assert [e["data"]["income_id"] for e in await tap.drain()] == [income["id"]], "announced exactly once"
    finally:
        await tap.close()

    projection = await gateway.get(
        PROJECTION, params={"days": 40, "starting_balance": "100.00", "currency": "USD"}, headers=person.headers
    )
    assert projection.status_code == 200, projection.text
    body = projection.json()["data"]
    day = next(d for d in body["series"] if d["date"] == payday.isoformat())
    assert day["expected_income"] == "3200.00" and day["notes"] == ["+3200.00 Acme payroll"]

    stranger = await sign_up(gateway, wait_profile=False)
    for path in (f"/api/v1/income/sources/{source_id}", f"/api/v1/income/transactions/{income['id']}"):
        assert (await gateway.get(path, headers=stranger.headers)).status_code == 404
        assert (await gateway.delete(path, headers=stranger.headers)).status_code == 404
    assert (await gateway.get(path, headers=person.headers)).status_code == 200


async def test_an_expense_moves_the_projection_without_waiting_for_the_cache(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway, wait_profile=False)
    params: dict[str, str | int] = {"days": 30, "starting_balance": "1000.00", "currency": "USD"}
    before = await gateway.get(PROJECTION, params=params, headers=person.headers)
    assert before.status_code == 200, before.text
    assert before.json()["data"]["daily_burn"] == "0.00"
    again = await gateway.get(PROJECTION, params=params, headers=person.headers)
    assert again.json()["data"]["cached"] is True

    spent = await gateway.post(
        "/api/v1/expenses",
        json={"amount": "300.00", "currency": "USD", "expense_date": datetime.now(UTC).date().isoformat()},
        headers=person.headers,
    )
    assert spent.status_code == 201, spent.text

    async def burn_seen() -> dict | None:
        body = (await gateway.get(PROJECTION, params=params, headers=person.headers)).json()["data"]
        return body if body["daily_burn"] == "10.00" else None

    after = await wait_for(burn_seen, timeout=20, message="projection updated from expense.created")
    assert after["cached"] is False
    assert after["ending_balance"] == "700.00"
