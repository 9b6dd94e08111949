"""Issue 7, tax side, through the gateway: income recorded in the income service reaches the tax
calculation over the bus (`income.received`, never the income database) with every bracket
explained; a deduction moves it at once; an edit of the income in the income service
(`income.updated`) is never served stale from the cached calculation; another user gets 404 for the
deduction; the full tax report is asked of the report service (202, a job the caller can poll).
Sells recorded in the investment service reach it as `investment.realized_gain`, split short/long term."""

from typing import Any

import httpx
import pytest
from journeys import sign_up

from pfms_local.fleet import wait_for

pytestmark = pytest.mark.e2e

CALCULATE = "/api/v1/tax/calculate"


async def calculation(gateway: httpx.AsyncClient, headers: dict[str, str], **expected: str) -> dict[str, Any]:
    async def matches() -> dict[str, Any] | None:
        response = await gateway.get(CALCULATE, params={"year": 2024}, headers=headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data if all(data[k] == v for k, v in expected.items()) else None

    return await wait_for(matches, timeout=20, message=f"tax calculation with {expected}")


async def test_income_becomes_a_calculation_and_a_report(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway, wait_profile=False)
    profile = await gateway.put(
        "/api/v1/tax/profiles/2024", json={"country_code": "US", "filing_status": "single"}, headers=person.headers
    )
    assert profile.status_code == 200, profile.text

    recorded = await gateway.post(
        "/api/v1/income/transactions",
        json={
            "type": "salary",
            "amount": "75000.00",
            "tax_deducted": "9000.00",
            "currency": "USD",
            "date": "2024-06-28",
        },
        headers=person.headers,
    )
    assert recorded.status_code == 201, recorded.text
    result = await calculation(gateway, person.headers, gross_income="75000.00")
    assert (result["taxable_income"], result["tax_owed"], result["balance_due"]) == ("60400.00", "8341.00", "-659.00")
    assert [b["tax"] for b in result["brackets"]] == ["1160.00", "4266.00", "2915.00"]

    deduction = await gateway.post(
        "/api/v1/tax/deductions",
        json={"tax_year": 2024, "category": "retirement_contribution", "amount": "7000", "currency": "USD"},
        headers=person.headers,
    )
    assert deduction.status_code == 201, deduction.text
    after = await gateway.get(CALCULATE, params={"year": 2024}, headers=person.headers)
    assert (after.json()["data"]["adjusted_gross_income"], after.json()["data"]["cached"]) == ("68000.00", False)

    edited = await gateway.patch(
        f"/api/v1/income/transactions/{recorded.json()['data']['id']}",
        json={"amount": "80000.00"},
        headers=person.headers,
    )
    assert edited.status_code == 200, edited.text
    await calculation(gateway, person.headers, gross_income="80000.00", adjusted_gross_income="73000.00")

    stranger = await sign_up(gateway, wait_profile=False)
    deduction_url = f"/api/v1/tax/deductions/{deduction.json()['data']['id']}"
    assert (await gateway.get(deduction_url, headers=stranger.headers)).status_code == 404
    assert (await gateway.delete(deduction_url, headers=stranger.headers)).status_code == 404
    assert (await gateway.get(CALCULATE, params={"year": 2024}, headers=stranger.headers)).status_code == 404

    report = await gateway.get(
        "/api/v1/tax/reports/generate-full", params={"year": 2024, "format": "pdf"}, headers=person.headers
    )
    assert report.status_code == 202, report.text
    job = report.json()["data"]
    assert (job["type"], job["requested_by"]) == ("tax", "tax")
    polled = await gateway.get(f"/api/v1/reports/{job['id']}", headers=person.headers)
    assert polled.status_code == 200, polled.text
    assert (await gateway.get(f"/api/v1/reports/{job['id']}", headers=stranger.headers)).status_code == 404


async def test_sells_in_the_investment_service_are_capital_gains_split_by_holding_period(
    gateway: httpx.AsyncClient,
) -> None:
    person = await sign_up(gateway, wait_profile=False)
    profile = await gateway.put(
        "/api/v1/tax/profiles/2024", json={"country_code": "US", "filing_status": "single"}, headers=person.headers
    )
    assert profile.status_code == 200, profile.text
    portfolios = "/api/v1/portfolios"
    portfolio = await gateway.post(portfolios, json={"name": "Taxable", "base_currency": "USD"}, headers=person.headers)
    assert portfolio.status_code == 201, portfolio.text
    pid = portfolio.json()["data"]["id"]
    trades = f"{portfolios}/{pid}/transactions"
    for symbol, bought_on, sold_on, price in (
        ("TAXL", "2022-03-01", "2024-08-01", "300"),
        ("TAXS", "2024-01-10", "2024-05-01", "120"),
    ):
        asset = await gateway.post(
            f"{portfolios}/{pid}/assets", json={"asset_type": "stock", "symbol": symbol}, headers=person.headers
        )
        assert asset.status_code == 201, asset.text
        trade = {"asset_id": asset.json()["data"]["id"], "quantity": "10", "fees": "0"}
        for kind, day, each in (("buy", bought_on, "100"), ("sell", sold_on, price)):
            made = await gateway.post(
                trades, json={**trade, "transaction_type": kind, "date": day, "price": each}, headers=person.headers
            )
            assert made.status_code == 201, made.text

    result = await calculation(gateway, person.headers, long_term_gains="2000.00", short_term_gains="200.00")
    # No income: 2,200 of gains < the 14,600 standard deduction, so nothing is taxable.
    assert (result["gain_rows"], result["taxable_income"], result["tax_owed"]) == (2, "0.00", "0.00")
