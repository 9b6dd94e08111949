"""Issue 8 (reports) through the gateway: a user's expenses and income of last month become a monthly
PDF and an XLSX; the client polls each job until it is completed, downloads the files through the
gateway, and finds the right totals (PDF text, numeric XLSX cells); `report.completed` is on the bus
for the notification service; another user gets 404 for the report and its file."""

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from journeys import BusTap, sign_up
from openpyxl import load_workbook
from pypdf import PdfReader

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


async def finished(gateway: httpx.AsyncClient, report_id: str, headers: dict[str, str]) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/v1/reports/{report_id}", headers=headers)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data if data["status"] in ("completed", "failed") else None

    return await wait_for(done, timeout=60, message=f"report {report_id} finished")


async def test_monthly_pdf_and_xlsx_carry_the_months_totals(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway, wait_profile=False)
    stranger = await sign_up(gateway, wait_profile=False)
    last_month = datetime.now(UTC).date().replace(day=1) - timedelta(days=1)
    day = last_month.replace(day=10).isoformat()

    category = await gateway.post("/api/v1/categories", json={"name": "Report groceries"}, headers=person.headers)
    assert category.status_code == 201, category.text
    groceries = category.json()["data"]["id"]
    for amount in ("45.10", "54.90"):
        body = {"amount": amount, "currency": "USD", "expense_date": day, "category_id": groceries}
        response = await gateway.post("/api/v1/expenses", json=body, headers=person.headers)
        assert response.status_code == 201, response.text
    body = {"amount": "1200.00", "currency": "USD", "expense_date": day, "description": "rent"}
    assert (await gateway.post("/api/v1/expenses", json=body, headers=person.headers)).status_code == 201
    income = {"amount": "4000.00", "currency": "USD", "date": day, "type": "salary"}
    assert (await gateway.post("/api/v1/income/transactions", json=income, headers=person.headers)).status_code == 201

    tap = await BusTap.open(fleet, "notification.events", "report.completed")
    try:
        period = {"type": "monthly", "year": last_month.year, "month": last_month.month}
        jobs = {}
        for fmt in ("pdf", "xlsx"):
            response = await gateway.post(
                "/api/v1/reports/generate", json={**period, "format": fmt}, headers=person.headers
            )
            assert response.status_code == 202, response.text
            jobs[fmt] = response.json()["data"]
            assert jobs[fmt]["status"] == "pending"
        for fmt, job in jobs.items():
            done = await finished(gateway, job["id"], person.headers)
            assert done["status"] == "completed", done
            event = await tap.wait("report.completed", report_id=job["id"])
            assert event["data"]["user_id"] == person.user_id
            assert event["data"]["format"] == fmt
    finally:
        await tap.close()

    pdf = await gateway.get(f"/api/v1/reports/{jobs['pdf']['id']}/download", headers=person.headers)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Monthly report" in text
    for total in ("100.00", "1300.00", "4000.00", "2700.00"):  # groceries, spent, earned, net
        assert total in text, total

    xlsx = await gateway.get(f"/api/v1/reports/{jobs['xlsx']['id']}/download", headers=person.headers)
    assert xlsx.status_code == 200
    summary = load_workbook(io.BytesIO(xlsx.content))["Summary"]
    cells = [summary.cell(row=2, column=i) for i in (2, 3, 4)]
    assert [c.value for c in cells] == [4000, 1300, 2700]
    assert {c.data_type for c in cells} == {"n"}

    for path in (f"/api/v1/reports/{jobs['pdf']['id']}", f"/api/v1/reports/{jobs['pdf']['id']}/download"):
        assert (await gateway.get(path, headers=stranger.headers)).status_code == 404
