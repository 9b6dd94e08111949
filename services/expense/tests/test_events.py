"""Consumed events (user.created/updated/deleted) and published ones leaving through the relay."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import pytest

from pfms_contracts import CloudEvent, event_model
from pfms_contracts.identity import UserDeleted
from pfms_expense.models import (
    Budget,
    Category,
    Expense,
    Habit,
    HabitLog,
    ImportBatch,
    ImportMapping,
    RecurringExpense,
    UserSettings,
)
from pfms_platform.testing.schema import schema_drift

pytestmark = pytest.mark.integration

PER_USER = (Category, Expense, RecurringExpense, Habit, HabitLog, Budget, ImportBatch, ImportMapping, UserSettings)
FILES = Path(__file__).parent / "files"


async def test_user_deleted_purges_every_row_of_the_user(env) -> None:
    alice, bob = await env.signup(), await env.signup()
    for person in (alice, bob):
        groceries = await env.category_id(person, "Groceries")
        child = env.data(
            await env.client.post(
                "/api/v1/categories", json={"name": "Mine", "parent_id": groceries}, headers=person.headers
            )
        )
        await env.expense(person, category_id=child["id"])
        await env.client.post(
            "/api/v1/expenses/recurring",
            json={"name": "Rent", "amount": "5", "currency": "USD", "frequency": "monthly", "start_date": "2030-01-01"},
            headers=person.headers,
        )
        habit = env.data(
            await env.client.post(
                "/api/v1/habits", json={"name": "Tea", "unit_cost": "1", "currency": "USD"}, headers=person.headers
            )
        )
        await env.client.post(f"/api/v1/habits/{habit['id']}/log", json={"quantity": 2}, headers=person.headers)
        budget = {
            "name": "B",
            "category_id": groceries,
            "amount": "1",
            "currency": "USD",
            "period": "monthly",
            "start_date": "2026-03-01",
        }
        assert (await env.client.post("/api/v1/budgets", json=budget, headers=person.headers)).status_code == 201
        await env.client.post(
            "/api/v1/expenses/import-mappings",
            json={"name": "M", "mapping": {"date": "d", "amount": "a"}},
            headers=person.headers,
        )
        response = await env.client.post(
            "/api/v1/expenses/bulk-import",
            files={"file": ("s.ofx", (FILES / "statement-v1.ofx").read_bytes())},
            headers=person.headers,
        )
        assert response.status_code == 202

    async def imported() -> bool:
        return await env.count(Expense, Expense.source == "import") == 2

    await env.until(imported)
    await env.publish(UserDeleted(user_id=alice.user_id, deleted_at=datetime.now(UTC)), source="auth")

    async def purged() -> bool:
        return await env.count(UserSettings, UserSettings.user_id == alice.user_id) == 0

    await env.until(purged)
    for model in PER_USER:
        assert await env.count(model, model.user_id == alice.user_id) == 0, model.__name__
        assert await env.count(model, model.user_id == bob.user_id) > 0, model.__name__


async def test_published_events_reach_the_broker_as_cloudevents(env) -> None:
    """The relay publishes what emit and emit_many wrote (single expenses and a whole import)."""
    alice = await env.signup()
    connection = await aio_pika.connect(env.svc.settings.amqp_url)
    received: list[CloudEvent] = []
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange("financial.events", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"probe-{uuid.uuid4().hex[:6]}", exclusive=True)
        await queue.bind(exchange, routing_key="expense.#")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                received.append(CloudEvent.model_validate_json(message.body))

        await queue.consume(on_message)
        await env.expense(alice, amount="1.25")
        await env.client.post(
            "/api/v1/expenses/bulk-import",
            files={"file": ("s.xml", (FILES / "statement.camt053.xml").read_bytes())},
            headers=alice.headers,
        )

        async def three() -> bool:
            await asyncio.sleep(0)
            return len(received) >= 3

        await env.until(three)
    assert sorted(e.type for e in received) == ["expense.created"] * 3
    for event in received:
        data = event_model(event.type).model_validate(event.data)
        assert (event.source, event.subject, data.user_id) == ("expense", str(alice.user_id), alice.user_id)
    assert len({e.id for e in received}) == 3
    assert sorted(e.data["amount"] for e in received) == ["1.25", "120.50", "9.90"]


async def test_migrations_match_the_models(env) -> None:
    assert await schema_drift(env.svc.db, "pfms_expense") == []
