"""Issue 4 through the gateway: a budget crossing 80 % is on the bus once; a CSV import with errors
and duplicates gets its exact report; the cash-flow projection sees a new recurring expense at once."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from journeys import BusTap, Person, settle, sign_up

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


async def expense_ready(gateway: httpx.AsyncClient) -> tuple[Person, dict[str, str]]:
    """A person signed up through auth, once the expense service has made their default categories."""
    person = await sign_up(gateway, wait_profile=False)

    async def categories() -> dict[str, str] | None:
        response = await gateway.get("/api/v1/categories", params={"limit": 100}, headers=person.headers)
        if response.status_code != 200 or not response.json()["data"]:
            return None
        return {c["name"]: c["id"] for c in response.json()["data"]}

    return person, await wait_for(categories, timeout=20, message="default categories from user.created")


async def test_a_budget_crossing_80_percent_is_announced_once(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person, categories = await expense_ready(gateway)
    today = datetime.now(UTC).date()
    tap = await BusTap.open(fleet, "financial.events", "budget.threshold_reached")
    try:
        budget = await gateway.post(
            "/api/v1/budgets",
            json={
                "name": "Food",
                "category_id": categories["Food & Dining"],
                "amount": "200.00",
                "currency": "USD",
                "period": "monthly",
                "start_date": today.replace(day=1).isoformat(),
                "alert_thresholds": [80, 100],
            },
            headers=person.headers,
        )
        assert budget.status_code == 201, budget.text
        budget_id = budget.json()["data"]["id"]

        async def spend(amount: str) -> dict:
            response = await gateway.post(
                "/api/v1/expenses",
                json={
                    "amount": amount,
                    "currency": "USD",
                    "expense_date": today.isoformat(),
                    "category_id": categories["Groceries"],
                    "description": "market",
                },
                headers=person.headers,
            )
            assert response.status_code == 201, response.text
            return response.json()["data"]

        await spend("100.00")
        big = await spend("70.00")  # 85 %
        event = await tap.wait("budget.threshold_reached", budget_id=budget_id, threshold_percent=80)
        assert (event["data"]["spent"], event["data"]["percent_used"], event["subject"]) == (
            "170.00",
            "85.00",
            person.user_id,
        )
        await spend("10.00")  # 90 %: still past 80 %, no second alert
        edited = await gateway.patch(f"/api/v1/expenses/{big['id']}", json={"amount": "75.00"}, headers=person.headers)
        assert edited.status_code == 200
        await settle(1.5)
        alerts = [e for e in await tap.drain() if e["data"]["budget_id"] == budget_id]
        assert [e["data"]["threshold_percent"] for e in alerts] == [80]
        status = await gateway.get(f"/api/v1/budgets/{budget_id}/status", headers=person.headers)
        assert status.json()["data"]["percent_used"] == "92.50"
    finally:
        await tap.close()


async def test_a_csv_import_with_errors_and_duplicates_gets_the_exact_report(gateway: httpx.AsyncClient) -> None:
    person, categories = await expense_ready(gateway)
    taken = await gateway.post(
        "/api/v1/expenses",
        json={"amount": "12.00", "currency": "USD", "expense_date": "2026-01-03", "description": "Corner Cafe"},
        headers=person.headers,
    )
    assert taken.status_code == 201
    csv = (
        b"Date;Payee;Debit;Credit;Category\r\n"
        b"02/01/2026;Groceries Plus;45,10;;Groceries\r\n"
        b'03/01/2026;"corner  cafe";12,00;;\r\n'
        b"04/01/2026;Salary;;2500,00;\r\n"
        b"31/02/2026;Bad date;3,00;;\r\n"
        b"05/01/2026;Bookshop;abc;;\r\n"
        b"02/01/2026;GROCERIES PLUS;45,10;;Groceries\r\n"
        b"06/01/2026;Pharmacy;7,95;;\r\n"
    )
    mapping = {
        "date": "Date",
        "date_format": "%d/%m/%Y",
        "debit": "Debit",
        "credit": "Credit",
        "description": ["Payee"],
        "category": "Category",
        "decimal_separator": ",",
    }
    accepted = await gateway.post(
        "/api/v1/expenses/bulk-import",
        files={"file": ("bank.csv", csv, "text/csv")},
        data={"mapping": json.dumps(mapping), "currency": "USD"},
        headers=person.headers,
    )
    assert accepted.status_code == 202, accepted.text
    batch = accepted.json()["data"]["id"]

    async def report() -> dict | None:
        body = (await gateway.get(f"/api/v1/expenses/imports/{batch}", headers=person.headers)).json()["data"]
        return body if body["status"] in ("completed", "failed") else None

    done = await wait_for(report, timeout=20, message="import finished")
    assert done["status"] == "completed", done
    assert [done[k] for k in ("total_rows", "successful_rows", "duplicate_rows", "failed_rows", "skipped_rows")] == [
        7,
        2,
        2,
        2,
        1,
    ]
    assert [(i["row"], i["kind"]) for i in done["issues"]] == [
        (2, "duplicate"),
        (3, "skipped"),
        (4, "error"),
        (5, "error"),
        (6, "duplicate"),
    ]
    imported = await gateway.get("/api/v1/expenses", params={"source": "import"}, headers=person.headers)
    rows = {e["description"]: e for e in imported.json()["data"]}
    assert set(rows) == {"Groceries Plus", "Pharmacy"}
    assert (rows["Groceries Plus"]["amount"], rows["Groceries Plus"]["category_id"]) == (
        "45.10",
        categories["Groceries"],
    )
    other = await sign_up(gateway, wait_profile=False)
    assert (await gateway.get(f"/api/v1/expenses/imports/{batch}", headers=other.headers)).status_code == 404


async def test_the_projection_sees_a_new_recurring_expense_without_waiting(gateway: httpx.AsyncClient) -> None:
    person, _ = await expense_ready(gateway)
    params: dict[str, str | int] = {"days": 30, "starting_balance": "1000.00", "currency": "USD"}
    before = await gateway.get("/api/v1/income/cashflow/projection", params=params, headers=person.headers)
    assert before.status_code == 200, before.text
    due = datetime.now(UTC).date() + timedelta(days=10)
    created = await gateway.post(
        "/api/v1/expenses/recurring",
        json={
            "name": "Rent",
            "amount": "750.00",
            "currency": "USD",
            "frequency": "monthly",
            "start_date": due.isoformat(),
        },
        headers=person.headers,
    )
    assert created.status_code == 201, created.text

    async def rent_seen() -> dict | None:
        body = (await gateway.get("/api/v1/income/cashflow/projection", params=params, headers=person.headers)).json()
        day = next(d for d in body["data"]["series"] if d["date"] == due.isoformat())
        return body["data"] if day["scheduled_outflows"] == "750.00" else None

    after = await wait_for(rent_seen, timeout=20, message="projection updated from expense.recurring_changed")
    was = Decimal(before.json()["data"]["ending_balance"])
    assert Decimal(after["ending_balance"]) == was - Decimal("750.00"), "the cached projection was not served"


async def test_an_expense_in_euros_is_summed_in_dollars_at_its_dates_rate(gateway: httpx.AsyncClient) -> None:
    """A USD user's EUR expense is converted with market-data's rate of the expense's date."""
    person, _ = await expense_ready(gateway)
    for amount, currency in (("80.00", "EUR"), ("20.00", "USD")):
        response = await gateway.post(
            "/api/v1/expenses",
            json={"amount": amount, "currency": currency, "expense_date": "2024-03-15", "description": "trip"},
            headers=person.headers,
        )
        assert response.status_code == 201, response.text
    history = await gateway.get(
        "/api/v1/market/forex/EUR-USD/history",
        params={"from": "2024-03-15", "to": "2024-03-15"},
        headers=person.headers,
    )
    assert history.status_code == 200, history.text
    rate = Decimal(str(history.json()["data"]["closes"][-1]["close"]))
    expected = (Decimal("80.00") * rate).quantize(Decimal("0.01")) + Decimal("20.00")  # half-even, the default

    response = await gateway.get(
        "/api/v1/expenses/summary",
        params={"group_by": "month", "date_from": "2024-03-01", "date_to": "2024-03-31"},
        headers=person.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert (body["currency"], body["total"], body["unconverted"]) == ("USD", str(expected), [])
    assert body["lines"] == [{"key": "2024-03", "label": "2024-03", "total": str(expected), "count": 2}]
