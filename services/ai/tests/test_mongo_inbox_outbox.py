"""The MongoDB inbox and outbox under the conditions batching must survive: a document that already
exists when a batch inserts it, a server without transactions (re-runs after a crash), and a relay
round that failed part-way."""

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aio_pika
import pytest

from pfms_ai.outbox import emit
from pfms_ai.store import EXPENSES, INBOX, OUTBOX, Mark, Put, Store, Unit
from pfms_contracts import CloudEvent
from pfms_contracts.expense import ExpenseCategorized, ExpenseUpdated
from pfms_platform.events import causation
from pfms_platform.testing.helpers import until

pytestmark = pytest.mark.integration

DAY = date(2025, 3, 14)


def _categorized(user: uuid.UUID, expense_id: uuid.UUID) -> ExpenseCategorized:
    return ExpenseCategorized(
        user_id=user, expense_id=expense_id, category_name="Coffee", confidence=Decimal("0.9"), model_version="g-test"
    )


async def test_an_expense_updated_before_its_creation_arrives_keeps_both(env, build_expense) -> None:
    """The creation's insert meets the document the update wrote: its batch fails and is retried event
    by event, replacing instead of inserting; it is applied once and categorised once."""
    user = uuid.uuid4()
    created = build_expense(user, "UBER *TRIP 8812 help.uber.com", "18.40", DAY)
    updated = ExpenseUpdated(
        **created.model_dump(exclude={"category_id", "category_name"}),
        category_id=None,
        category_name=None,
        previous_amount=created.amount,
        previous_expense_date=created.expense_date,
        previous_category_id=None,
    )
    await env.publish(updated)
    await env.wait_count(EXPENSES, {"_id": str(created.expense_id)}, 1)
    sent = await env.publish(created)
    await env.wait_count(OUTBOX, {"events.payload.data.expense_id": str(created.expense_id)}, 1)
    await env.wait_count(INBOX, {"event_id": sent.id}, 1)
    [doc] = await env.documents(EXPENSES, {"_id": str(created.expense_id)})
    assert doc["prediction"]["category_name"] == "Taxi & Rideshare"
    outbox = await env.documents(OUTBOX, {"user_ids": str(user)})
    assert len([e for o in outbox for e in o["events"]]) == 1


def _unit(cause: CloudEvent, expense_id: uuid.UUID, user: uuid.UUID) -> Unit:
    unit = Unit()
    with causation.handling(cause):
        unit.write(EXPENSES, Put({"_id": str(expense_id), "user_id": str(user), "description": "rerun"}))
        data = _categorized(user, expense_id)
        emit(unit, data, source="ai")
        emit(unit, data, source="ai")
    unit.inbox.append(Mark("ai", cause.id, "expense.created"))
    return unit


async def test_without_transactions_a_rerun_after_a_crash_writes_nothing_twice(env) -> None:
    store = Store(env.svc.app.state.mongo, env.svc.settings.mongo_database)
    assert store.transactions is False  # not prepared: the path of a server without transactions
    user, expense_id = uuid.uuid4(), uuid.uuid4()
    cause = CloudEvent.wrap("test", _categorized(user, expense_id))
    crashed = _unit(cause, expense_id, user)
    crashed.inbox = []  # the process died before the inbox marks
    await store.commit(crashed)
    await store.commit(_unit(cause, expense_id, user))  # the redelivery
    assert len(await env.documents(EXPENSES, {"_id": str(expense_id)})) == 1
    outbox = await env.documents(OUTBOX, {"user_ids": str(user)})
    assert len(outbox) == 2 and all(len(o["events"]) == 1 and o["_id"] == o["events"][0]["_id"] for o in outbox)
    assert (await env.documents(INBOX, {"event_id": cause.id}))[0]["event_id"] == [cause.id]


async def test_the_relay_sends_only_the_events_of_a_document_that_did_not_leave(env) -> None:
    user = uuid.uuid4()
    events: list[dict[str, Any]] = []
    for _ in range(2):
        data = _categorized(user, uuid.uuid4())
        event = CloudEvent.wrap("ai", data)
        events.append(
            {
                "_id": event.id,
                "exchange": data.exchange,
                "routing_key": data.type,
                "payload": event.model_dump(mode="json"),
                "user_id": str(user),
            }
        )
    received: list[str | None] = []
    connection = await aio_pika.connect(env.svc.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        tap = await channel.declare_queue(exclusive=True, auto_delete=True)
        await tap.bind(ExpenseCategorized.exchange, routing_key=ExpenseCategorized.type)

        async def seen(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.append(message.message_id)
            await message.ack()

        await tap.consume(seen)
        document = {
            "_id": events[0]["_id"],
            "events": events,
            "user_ids": [str(user)],
            "created_at": datetime.now(UTC),
            "sent_at": None,
            "published": [events[0]["_id"]],  # the earlier round confirmed this one before failing
            "attempts": 1,
        }
        await env.db[OUTBOX].insert_one(document)
        env.svc.app.state.store.outbox_written.set()
        await env.wait_count(OUTBOX, {"_id": document["_id"], "sent_at": {"$ne": None}}, 1)

        async def delivered() -> bool:
            return bool(received)

        await until(delivered)
    assert received == [events[1]["_id"]]


async def test_a_batch_with_a_duplicate_and_a_poison_message_is_applied_once_and_all_of_it_acked(
    env, build_expense
) -> None:
    """Three expenses, a redelivery of the first and an unreadable message arrive together: one batch
    applies each expense once, the poison is parked, and every delivery is settled at the broker (the
    batch's acks go as one frame): with the service's connection closed nothing returns to the queue."""
    user = uuid.uuid4()
    created = [build_expense(user, f"UBER *TRIP {i} help.uber.com", "18.40", DAY) for i in range(3)]
    events = [CloudEvent.wrap("test", data) for data in created]
    bodies = [e.model_dump_json().encode() for e in [*events, events[0]]] + [b'{"not": "an event"']
    connection = await aio_pika.connect(env.svc.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(created[0].exchange)
        await asyncio.gather(
            *(
                exchange.publish(aio_pika.Message(body, type=created[0].type), routing_key=created[0].type)
                for body in bodies
            )
        )
        await env.wait_count(OUTBOX, {"user_ids": str(user)}, 1)
        await env.wait_count(INBOX, {"event_id": {"$in": [e.id for e in events]}}, 1)

        async def parked() -> bool:
            dlq = await channel.declare_queue("ai.events.dlq", passive=True)
            return dlq.declaration_result.message_count == 1

        await until(parked)
        assert len(await env.documents(EXPENSES, {"user_id": str(user)})) == 3
        marks = [
            i for d in await env.documents(INBOX, {"event_id": {"$in": [e.id for e in events]}}) for i in d["event_id"]
        ]
        assert sorted(marks) == sorted(e.id for e in events)
        outbox = await env.documents(OUTBOX, {"user_ids": str(user)})
        assert len([e for o in outbox for e in o["events"]]) == 3
        await asyncio.sleep(0.3)  # the batch's ack frame
        await env.svc.app.state.bus.connection.close()  # an unacked delivery would be requeued now
        await asyncio.sleep(0.3)
        queue = await channel.declare_queue("ai.events", passive=True)
        assert queue.declaration_result.message_count == 0


async def test_batches_prepared_while_the_previous_one_commits_apply_each_event_once(make_env, build_expense) -> None:
    """Small batches of new expenses arriving faster than they commit: the next batch is categorised
    while the previous one commits. Redeliveries of events of the batch in flight wait for its commit
    (they are not in the inbox yet); every expense is applied and categorised exactly once."""
    env = await make_env(consumer_batch_size=20)
    user = uuid.uuid4()
    created = [build_expense(user, f"UBER *TRIP {i} help.uber.com", "18.40", DAY) for i in range(120)]
    events = [CloudEvent.wrap("test", data) for data in created]
    bodies = [e.model_dump_json().encode() for e in events]
    bodies += [e.model_dump_json().encode() for e in events[::7]]  # redeliveries, some while in flight
    connection = await aio_pika.connect(env.svc.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(created[0].exchange)
        await asyncio.gather(
            *(
                exchange.publish(aio_pika.Message(body, type=created[0].type), routing_key=created[0].type)
                for body in bodies
            )
        )

        async def drained() -> bool:
            queue = await channel.declare_queue("ai.events", passive=True)
            marks = await env.documents(INBOX, {"event_id": {"$in": [e.id for e in events]}})
            return queue.declaration_result.message_count == 0 and sum(len(d["event_id"]) for d in marks) == 120

        await until(drained, timeout=60)
    await asyncio.sleep(0.5)  # a duplicate applied late would show now
    inbox = await env.documents(INBOX, {"event_id": {"$in": [e.id for e in events]}})
    assert sorted(i for d in inbox for i in d["event_id"]) == sorted(e.id for e in events)
    assert len(await env.documents(EXPENSES, {"user_id": str(user)})) == 120
    outbox = await env.documents(OUTBOX, {"user_ids": str(user)})
    published = [e["payload"]["data"]["expense_id"] for o in outbox for e in o["events"]]
    assert sorted(published) == sorted(str(c.expense_id) for c in created)
