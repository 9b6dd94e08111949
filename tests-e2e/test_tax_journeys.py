"""Issue 7, tax side, through the gateway: income recorded in the income service reaches the tax
calculation over the bus (`income.received`, never the income database) with every bracket
explained; a deduction moves it at once; an edit of the income in the income service
(`income.updated`) is never served stale from the cached calculation; another user gets 404 for the
deduction; the full tax report is asked of the report service (202, a job the caller can poll)."""

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
