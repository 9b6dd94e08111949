"""expense.created → expense.categorized through the MongoDB inbox and outbox; learning from labels and
corrections; redelivery; user.deleted; the GDPR export."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseUpdated
from pfms_contracts.identity import UserDeleted
from pfms_platform.security import mint_service_token
from pfms_platform.testing.helpers import until

pytestmark = pytest.mark.integration

DAY = date(2025, 3, 14)


async def test_an_uncategorised_expense_is_categorised_on_the_bus(env, build_expense) -> None:
    user = uuid.uuid4()
    created = build_expense(user, "UBER *TRIP 8812 help.uber.com", "18.40", DAY)
    sent = await env.publish(created)
    await env.wait_count("outbox", {"events.routing_key": "expense.categorized", "sent_at": {"$ne": None}}, 1)
    [document] = await env.documents("outbox", {"events.routing_key": "expense.categorized"})
    [out] = document["events"]
    data = out["payload"]["data"]
    assert data["expense_id"] == str(created.expense_id)
    assert data["user_id"] == str(user)
    assert data["category_name"] == "Taxi & Rideshare"
    assert Decimal("0.4") <= Decimal(data["confidence"]) <= 1
    assert data["model_version"].startswith("g-")
    assert out["payload"]["causationchain"] == sent.id
    [doc] = await env.documents("expenses", {"_id": str(created.expense_id)})
    assert doc["prediction"]["category_name"] == "Taxi & Rideshare" and doc["prediction"]["published"]
    [inbox] = await env.documents("inbox", {"event_id": sent.id})
    assert inbox["consumer"] == "ai" and inbox["event_id"] == [sent.id]


async def test_a_labelled_expense_is_not_categorised_and_a_redelivery_changes_nothing(env, build_expense) -> None:
    user = uuid.uuid4()
    labelled = build_expense(user, "Starbucks", "4.10", DAY, category="Coffee")
    event = CloudEvent.wrap("test", labelled)
    await env.publish(labelled, event=event)
    await env.publish(labelled, event=event)
    unlabelled = build_expense(user, "NETFLIX.COM", "15.49", DAY)
    await env.publish(unlabelled)
    await env.wait_count("outbox", {"events.routing_key": "expense.categorized"}, 1)
    await env.wait_count("expenses", {"user_id": str(user)}, 2)
    [inbox] = await env.documents("inbox", {"event_id": event.id})
    assert inbox["event_id"].count(event.id) == 1
    [model] = await env.documents("ml_models", {"_id": f"user:{user}"})
    assert model["label_version"] == 1  # applied once
    outbox = await env.documents("outbox", {"user_ids": str(user)})
    assert [e["payload"]["data"]["expense_id"] for o in outbox for e in o["events"]] == [str(unlabelled.expense_id)]


async def test_nothing_is_published_below_the_threshold(make_env, build_expense) -> None:
    env = await make_env(categorize_min_confidence="0.9999")
    created = build_expense(uuid.uuid4(), "payment 4411 misc", "10", DAY)
    await env.feed([created])
    [doc] = await env.documents("expenses", {"_id": str(created.expense_id)})
    assert doc["prediction"]["published"] is False
    assert await env.documents("outbox", {}) == []


async def test_the_expense_services_echo_of_our_category_is_not_a_correction(env, build_expense) -> None:
    user = uuid.uuid4()
    created = build_expense(user, "Shell 5544 fuel", "40", DAY)
    await env.publish(created)
    await env.wait_count("outbox", {"events.routing_key": "expense.categorized"}, 1)
    applied = ExpenseUpdated(
        **created.model_dump(exclude={"category_id", "category_name"}),
        category_id=uuid.uuid4(),
        category_name="Fuel",
        previous_amount=created.amount,
        previous_expense_date=created.expense_date,
        previous_category_id=None,
    )
    await env.publish(applied)

    async def echoed() -> bool:
        [doc] = await env.documents("expenses", {"_id": str(created.expense_id)})
        return doc.get("category_by") == "ai"

    await until(echoed)
    assert await env.documents("category_rules", {"user_id": str(user)}) == []


async def test_user_deleted_purges_every_collection_and_export_shows_what_is_held(env, build_expense) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    await env.publish(build_expense(user, "Whole Foods Market", "54.10", DAY, category="Groceries"))
    await env.publish(build_expense(other, "Whole Foods Market", "54.10", DAY, category="Groceries"))
    await env.wait_count("expenses", {}, 2)
    token = mint_service_token(env.svc.settings.service_token_secret, "report")
    response = await env.client.get(
        "/internal/v1/export", params={"user_id": str(user)}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert body["service"] == "ai"
    [row] = body["tables"]["expenses"]
    assert row["description"] == "Whole Foods Market" and row["user_id"] == str(user)
    assert all("blob" not in m for m in body["tables"]["ml_models"])
    assert (await env.client.get("/internal/v1/export", params={"user_id": str(user)})).status_code == 401

    await env.publish(UserDeleted(user_id=user, deleted_at=datetime.now(UTC)))

    async def purged() -> bool:
        db = env.db
        counts = [await db[name].count_documents({"user_id": str(user)}) for name in await db.list_collection_names()]
        return sum(counts) == 0

    await until(purged)
    assert len(await env.documents("expenses", {"user_id": str(other)})) == 1
