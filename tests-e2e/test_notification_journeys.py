"""Issue 8 through the gateway: an expense that takes a budget past 50 % reaches the person as an in-app
notification and as a mail in the SMTP server; another person cannot see or touch it."""

from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
import pytest
from journeys import sign_up
from test_expense_journeys import expense_ready

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


async def test_a_budget_past_half_becomes_an_inbox_item_and_a_mail(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person, categories = await expense_ready(gateway)
    switched = await gateway.put(
        "/api/v1/user/preferences/notifications",
        json=[{"channel": "email", "category": "expense", "enabled": True}],
        headers=person.headers,
    )
    assert switched.status_code == 200, switched.text
    today = datetime.now(UTC).date()
    budget = await gateway.post(
        "/api/v1/budgets",
        json={
            "name": "Dining out",
            "category_id": categories["Food & Dining"],
            "amount": "300.00",
            "currency": "USD",
            "period": "monthly",
            "start_date": today.replace(day=1).isoformat(),
            "alert_thresholds": [50],
        },
        headers=person.headers,
    )
    assert budget.status_code == 201, budget.text
    expense = await gateway.post(
        "/api/v1/expenses",
        json={
            "amount": "180.00",
            "currency": "USD",
            "expense_date": today.isoformat(),
            "category_id": categories["Food & Dining"],
            "description": "team dinner",
        },
        headers=person.headers,
    )
    assert expense.status_code == 201, expense.text

    async def inbox() -> list[dict] | None:
        response = await gateway.get("/api/v1/notifications", params={"unread": "true"}, headers=person.headers)
        assert response.status_code == 200, response.text
        return response.json()["data"] or None

    items = await wait_for(inbox, timeout=30, message="in-app notification from budget.threshold_reached")
    assert items[0]["title"] == "Dining out: 50% of your budget used"
    assert items[0]["category"] == "expense" and items[0]["key"] == "budget.threshold_reached"

    def mailed() -> EmailMessage | None:
        subject = "Budget alert: Dining out reached 50%"
        mine = [m for m in fleet.stack.smtp.messages() if m["To"] == person.email and m["Subject"] == subject]
        return mine[0] if mine else None

    mail = await wait_for(mailed, timeout=30, message="budget mail in the SMTP catcher")
    assert "180.00 USD of your 300.00 USD budget" in mail.get_content()

    count = await gateway.get("/api/v1/notifications/unread-count", headers=person.headers)
    assert count.json()["data"] == {"unread": 1}
    stranger = await sign_up(gateway, wait_profile=False)
    item = f"/api/v1/notifications/{items[0]['id']}"
    assert (await gateway.post(item + "/read", headers=stranger.headers)).status_code == 404
    read = await gateway.post(item + "/read", headers=person.headers)
    assert read.status_code == 200 and read.json()["data"]["read"] is True
    internal = await gateway.post("/internal/v1/notifications/send", json={}, headers=person.headers)
    assert internal.status_code == 404, "internal routes are not on the gateway"


async def test_quiet_hours_and_digest_set_at_the_user_service_reach_notification(gateway: httpx.AsyncClient) -> None:
    person, stranger = await sign_up(gateway), await sign_up(gateway)
    night = {"start": "22:00", "end": "07:00"}
    put = await gateway.put(
        "/api/v1/user/preferences/delivery", json={"quiet_hours": night, "digest": True}, headers=person.headers
    )
    assert put.status_code == 200, put.text
    assert (put.json()["data"]["quiet_hours"], put.json()["data"]["digest"]) == (night, True)

    async def arrived() -> dict | None:
        response = await gateway.get("/api/v1/notifications/settings", headers=person.headers)
        assert response.status_code == 200, response.text
        shown: dict = response.json()["data"]
        return shown if shown["digest"] else None

    shown = await wait_for(arrived, timeout=30, message="quiet hours and digest through user.updated")
    assert shown["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    theirs = await gateway.get("/api/v1/notifications/settings", headers=stranger.headers)
    assert theirs.json()["data"]["quiet_hours"] is None and theirs.json()["data"]["digest"] is False
    moved = await gateway.put("/api/v1/notifications/settings", json={"digest": False}, headers=person.headers)
    assert moved.status_code == 405, "the user service owns these now"
