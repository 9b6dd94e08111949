"""GET /api/v1/ai/insights and marking read: computed from expenses that arrived as events."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pfms_contracts.expense import ExpenseDeleted
from pfms_platform.testing.helpers import until

pytestmark = pytest.mark.integration


async def test_insights_from_events_read_flags_and_ownership(env, build_expense) -> None:
    user, stranger = uuid.uuid4(), uuid.uuid4()
    today = datetime.now(UTC).date()
    history = [
        build_expense(user, "SPOTIFY USA", "9.99", today - timedelta(days=5 + 30 * i), category="Subscriptions")
        for i in range(4)
    ]
    groceries = ["41.20", "52.10", "47.80", "39.90", "55.00", "44.30", "50.60", "48.10"]
    history += [
        build_expense(user, f"Market {i}", a, today - timedelta(days=20 + i), category="Groceries")
        for i, a in enumerate(groceries)
    ]
    spike = build_expense(user, "Market big", "480.00", today - timedelta(days=1), category="Groceries")
    twice = [build_expense(user, "AMAZON MKTPLACE", "29.99", today - timedelta(days=d)) for d in (3, 2)]
    await env.feed([*history, spike, *twice])

    response = await env.client.get("/api/v1/ai/insights", params={"limit": 100}, headers=env.auth(user))
    assert response.status_code == 200, response.text
    found = response.json()["data"]
    kinds = {(i["kind"], i["metadata"].get("merchant") or i["metadata"].get("expense_id")) for i in found}
    assert ("subscription", "spotify usa") in kinds
    assert ("anomaly", str(spike.expense_id)) in kinds
    assert ("duplicate", "amazon mktplace") in kinds
    assert found[0]["severity"] == "high"  # most severe first
    assert all(not i["is_read"] for i in found)
    anomaly = next(i for i in found if i["kind"] == "anomaly")
    assert anomaly["amount"] == "480.00" and anomaly["currency"] == "USD"
    assert (await env.db.expense_insights.count_documents({"user_id": str(user)})) == len(found)

    path = f"/api/v1/ai/insights/{anomaly['id']}/read"
    assert (await env.client.post(path, headers=env.auth(stranger))).status_code == 404
    marked = await env.client.post(path, headers=env.auth(user))
    assert marked.status_code == 200 and marked.json()["data"]["is_read"] is True
    assert (
        await env.client.post(f"/api/v1/ai/insights/{uuid.uuid4()}/read", headers=env.auth(user))
    ).status_code == 404
    assert (await env.client.post("/api/v1/ai/insights/nope/read", headers=env.auth(user))).status_code == 422

    # the spike is deleted: the cached set is dropped, the anomaly goes, the read flag of the rest stays
    await env.publish(
        ExpenseDeleted(
            user_id=user,
            expense_id=spike.expense_id,
            amount=spike.amount,
            currency="USD",
            expense_date=spike.expense_date,
        )
    )

    async def gone() -> bool:
        return not await env.db.expenses.count_documents({"_id": str(spike.expense_id)})

    await until(gone)
    await until(lambda: _cache_dropped(env, user))
    unread = await env.client.get("/api/v1/ai/insights", params={"unread_only": "true"}, headers=env.auth(user))
    assert all(i["kind"] != "anomaly" for i in unread.json()["data"])
    assert unread.json()["pagination"]["total"] == len(found) - 1

    theirs = await env.client.get("/api/v1/ai/insights", headers=env.auth(stranger))
    assert theirs.json()["data"] == [] and theirs.json()["pagination"]["total"] == 0
    page = await env.client.get("/api/v1/ai/insights", params={"limit": 1, "page": 2}, headers=env.auth(user))
    assert len(page.json()["data"]) == 1 and page.json()["pagination"]["page"] == 2
    bad = await env.client.get("/api/v1/ai/insights", params={"limit": 1000}, headers=env.auth(user))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "limit"


async def _cache_dropped(env, user: uuid.UUID) -> bool:
    return not await env.svc.app.state.redis.exists(f"user:{user}:insights:latest")
