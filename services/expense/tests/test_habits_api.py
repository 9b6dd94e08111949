"""Habits: cost per log from the unit cost, weekly and monthly stats, progress against the target."""

from datetime import timedelta

import pytest

from pfms_expense.models import HabitLog
from pfms_expense.scheduler import today_utc

pytestmark = pytest.mark.integration

URL = "/api/v1/habits"


async def test_logs_stats_and_progress(env) -> None:
    alice = await env.signup()
    habit = env.data(
        await env.client.post(
            URL,
            json={"name": "Coffee", "unit_cost": "3.35", "currency": "EUR", "target_reduction": 50},
            headers=alice.headers,
        )
    )
    assert habit["unit_cost"] == "3.35"
    today = today_utc()
    monday = today - timedelta(days=today.weekday())
    for weeks_ago, quantity in [(3, 10), (2, 8), (1, 6)]:
        day = (monday - timedelta(weeks=weeks_ago)).isoformat()
        log = env.data(
            await env.client.post(
                f"{URL}/{habit['id']}/log", json={"quantity": quantity, "log_date": day}, headers=alice.headers
            )
        )
        assert log["total_cost"] == f"{quantity * 3.35:.2f}"
    now = env.data(await env.client.post(f"{URL}/{habit['id']}/log", json={"quantity": 3}, headers=alice.headers))
    assert (now["log_date"], now["total_cost"]) == (today.isoformat(), "10.05")

    stats = env.data(
        await env.client.get(
            f"{URL}/{habit['id']}/stats", params={"period": "week", "periods": 4}, headers=alice.headers
        )
    )
    assert [b["quantity"] for b in stats["buckets"]] == [10, 8, 6, 3]
    assert (stats["total_quantity"], stats["total_cost"], stats["currency"]) == (27, "90.45", "EUR")
    assert stats["progress"] == {
        "baseline": "8.00",
        "current": 3,
        "reduction_percent": "62.50",
        "target_reduction": 50,
        "on_track": True,
    }
    env.data(await env.client.patch(f"{URL}/{habit['id']}", json={"baseline_per_week": "4"}, headers=alice.headers))
    declared = env.data(
        await env.client.get(f"{URL}/{habit['id']}/stats", params={"periods": 1}, headers=alice.headers)
    )
    assert (declared["progress"]["baseline"], declared["progress"]["on_track"]) == ("4.00", False)
    monthly = env.data(
        await env.client.get(
            f"{URL}/{habit['id']}/stats", params={"period": "month", "periods": 3}, headers=alice.headers
        )
    )
    assert sum(b["quantity"] for b in monthly["buckets"]) == 27
    assert monthly["progress"]["baseline"] == "17.33", "4 a week is 52/12 times 4 a month"

    logs = await env.client.get(f"{URL}/{habit['id']}/logs", params={"limit": 2}, headers=alice.headers)
    assert logs.json()["pagination"]["total"] == 4 and logs.json()["data"][0]["id"] == now["id"]
    assert (
        env.data(await env.client.delete(f"{URL}/{habit['id']}/logs/{now['id']}", headers=alice.headers))["id"]
        == now["id"]
    )
    assert env.data(await env.client.delete(f"{URL}/{habit['id']}", headers=alice.headers))["id"] == habit["id"]
    assert await env.count(HabitLog) == 0, "logs go with their habit"


async def test_bad_input_and_ownership(env) -> None:
    alice, mallory = await env.signup(), await env.signup()
    for body, field in [
        ({"name": "Tea", "unit_cost": "1.001", "currency": "USD"}, "unit_cost"),
        ({"name": "Tea", "unit_cost": "1", "currency": "USD", "target_reduction": 120}, "target_reduction"),
        ({"name": "", "unit_cost": "1", "currency": "USD"}, "name"),
        ({"name": "Tea", "unit_cost": "1"}, "currency"),
    ]:
        response = await env.client.post(URL, json=body, headers=alice.headers)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == field, response.text
    habit = env.data(
        await env.client.post(URL, json={"name": "Tea", "unit_cost": "1", "currency": "USD"}, headers=alice.headers)
    )
    dup = await env.client.post(URL, json={"name": "Tea", "unit_cost": "2", "currency": "USD"}, headers=alice.headers)
    assert dup.status_code == 409
    bad_log = await env.client.post(f"{URL}/{habit['id']}/log", json={"quantity": 0}, headers=alice.headers)
    assert bad_log.status_code == 422 and bad_log.json()["error"]["details"][0]["field"] == "quantity"
    log = env.data(await env.client.post(f"{URL}/{habit['id']}/log", json={"quantity": 1}, headers=alice.headers))
    path = f"{URL}/{habit['id']}"
    for method, suffix, body in [
        ("GET", "", None),
        ("PATCH", "", {"name": "x"}),
        ("DELETE", "", None),
        ("POST", "/log", {"quantity": 1}),
        ("GET", "/logs", None),
        ("GET", "/stats", None),
        ("DELETE", f"/logs/{log['id']}", None),
    ]:
        kwargs = {"json": body} if body else {}
        response = await env.client.request(method, path + suffix, headers=mallory.headers, **kwargs)
        assert response.status_code == 404, (method, suffix)
    assert await env.count(HabitLog) == 1
