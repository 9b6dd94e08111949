"""Recurring expenses: CRUD with `expense.recurring_changed`, the scheduler's exactly-once
materialisation (two instances, catch-up after downtime), reminders, pause and resume."""

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from pfms_expense.models import Expense, RecurringExpense
from pfms_expense.scheduler import today_utc
from pfms_platform.events.tables import OutboxEvent

pytestmark = pytest.mark.integration

URL = "/api/v1/expenses/recurring"


def schedule(**fields) -> dict:
    return {
        "name": "Rent",
        "amount": "1200.00",
        "currency": "USD",
        "frequency": "monthly",
        "start_date": (today_utc() + timedelta(days=40)).isoformat(),
        **fields,
    }


async def materialised(env, recurring_id: str) -> list[tuple[date, str]]:
    async with env.svc.db.sessions() as session:
        rows = await session.execute(
            select(Expense.occurrence_date, Expense.amount)
            .where(Expense.recurring_expense_id == uuid.UUID(recurring_id))
            .order_by(Expense.occurrence_date)
        )
        return [(d, f"{a:.2f}") for d, a in rows]


async def test_crud_publishes_the_schedule_for_every_change(env) -> None:
    alice = await env.signup()
    made = env.data(
        await env.client.post(URL, json=schedule(inflation_rate="0.05", end_date="2030-01-01"), headers=alice.headers)
    )
    assert (made["next_due_date"], made["is_active"], made["inflation_rate"]) == (made["start_date"], True, "0.0500")
    path = f"{URL}/{made['id']}"
    edited = env.data(
        await env.client.patch(path, json={"amount": "1250", "frequency": "quarterly"}, headers=alice.headers)
    )
    assert (edited["amount"], edited["frequency"]) == ("1250.00", "quarterly")
    assert env.data(await env.client.post(f"{path}/pause", headers=alice.headers))["is_active"] is False
    assert env.data(await env.client.post(f"{path}/resume", headers=alice.headers))["is_active"] is True
    upcoming = env.data(await env.client.get(f"{path}/upcoming", params={"count": 5}, headers=alice.headers))
    assert upcoming[0] == {"due_date": made["start_date"], "amount": "1250.00"}
    assert upcoming[4]["amount"] == "1312.50", "a year later the 5 % inflation applies"
    listed = await env.client.get(URL, headers=alice.headers)
    assert [r["id"] for r in env.data(listed)] == [made["id"]]
    assert env.data(await env.client.delete(path, headers=alice.headers))["id"] == made["id"]
    assert (await env.client.get(path, headers=alice.headers)).status_code == 404

    changes = await env.outbox("expense.recurring_changed")
    assert [(c["amount"], c["frequency"], c["active"], c["deleted"]) for c in changes] == [
        ("1200.00", "monthly", True, False),
        ("1250.00", "quarterly", True, False),
        ("1250.00", "quarterly", False, False),
        ("1250.00", "quarterly", True, False),
        ("1250.00", "quarterly", False, True),
    ]
    assert changes[0]["recurring_expense_id"] == made["id"] and changes[0]["inflation_rate"] == "0.0500"
    assert changes[0]["end_date"] == "2030-01-01"


async def test_bad_input_and_ownership(env) -> None:
    alice, mallory = await env.signup(), await env.signup()
    for body, field in [
        (schedule(frequency="fortnightly"), "frequency"),
        (schedule(end_date="2000-01-01"), "end_date"),
        (schedule(inflation_rate="2"), "inflation_rate"),
        (schedule(reminder_days=-1), "reminder_days"),
        (schedule(amount="0"), "amount"),
        (schedule(extra=True), "extra"),
    ]:
        response = await env.client.post(URL, json=body, headers=alice.headers)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == field, response.text
    assert await env.count(RecurringExpense) == 0
    made = env.data(await env.client.post(URL, json=schedule(), headers=alice.headers))
    path = f"{URL}/{made['id']}"
    for method, suffix in [
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/pause"),
        ("POST", "/resume"),
        ("GET", "/upcoming"),
    ]:
        kwargs = {"json": {"amount": "1"}} if method == "PATCH" else {}
        response = await env.client.request(method, path + suffix, headers=mallory.headers, **kwargs)
        assert response.status_code == 404, (method, suffix)
    assert env.data(await env.client.get(path, headers=alice.headers))["amount"] == "1200.00"


async def test_catch_up_after_downtime_materialises_each_missed_occurrence_once(env) -> None:
    alice = await env.signup()
    today = today_utc()
    start = today - timedelta(weeks=5)
    account = str(uuid.uuid4())
    body = schedule(name="Gym", amount="20", frequency="weekly", start_date=start.isoformat(), reminder_days=0)
    made = env.data(await env.client.post(URL, json={**body, "account_id": account}, headers=alice.headers))
    assert made["account_id"] == account
    expected = [start + timedelta(weeks=i) for i in range(6) if start + timedelta(weeks=i) <= today]

    async def caught_up() -> bool:
        return len(await materialised(env, made["id"])) == len(expected)

    await env.until(caught_up)
    assert [d for d, _ in await materialised(env, made["id"])] == expected
    row = env.data(await env.client.get(f"{URL}/{made['id']}", headers=alice.headers))
    assert row["next_due_date"] == (expected[-1] + timedelta(weeks=1)).isoformat()
    assert row["last_paid_date"] == expected[-1].isoformat()
    events = [e for e in await env.outbox("expense.created") if e["recurring_expense_id"] == made["id"]]
    assert sorted(e["expense_date"] for e in events) == [d.isoformat() for d in expected]
    assert {e["source"] for e in events} == {"recurring"}
    assert {e["account_id"] for e in events} == {account}, "each occurrence is paid from the schedule's account"

    # "Downtime": the schedule's next due date is rewound weeks into the past, as if no instance ran.
    async with env.svc.db.sessions() as session, session.begin():
        await session.execute(update(RecurringExpense).values(next_due_date=start))
    await env.until(lambda: _next_due_is_future(env, made["id"]))
    assert [d for d, _ in await materialised(env, made["id"])] == expected, "nothing materialised twice"


async def _next_due_is_future(env, recurring_id: str) -> bool:
    async with env.svc.db.sessions() as session:
        due = await session.scalar(
            select(RecurringExpense.next_due_date).where(RecurringExpense.id == uuid.UUID(recurring_id))
        )
    return due is not None and due > today_utc()


async def test_two_instances_on_one_database_materialise_exactly_once(make_service, jwt_keys) -> None:
    first = await make_service("expense", scheduler_enabled=False)
    database = first.settings.database_url.rsplit("/", 1)[1]
    user = uuid.uuid4()
    headers = jwt_keys.auth(user)
    today = today_utc()
    ids = []
    for n in range(12):
        body = schedule(
            name=f"Daily {n}", amount="1.10", frequency="daily", start_date=(today - timedelta(days=29)).isoformat()
        )
        response = await first.client.post(URL, json=body, headers=headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["id"])
    await make_service("expense", database=database, scheduler_interval_seconds=0.05)
    await make_service("expense", database=database, scheduler_interval_seconds=0.05)

    async def done() -> bool:
        async with first.db.sessions() as session:
            left = await session.scalar(
                select(func.count()).select_from(RecurringExpense).where(RecurringExpense.next_due_date <= today)
            )
        return left == 0

    for _ in range(600):
        if await done():
            break
        await asyncio.sleep(0.05)
    assert await done(), "the two instances did not finish in 30 s"
    async with first.db.sessions() as session:
        count, distinct = (
            await session.execute(
                select(
                    func.count(),
                    func.count(func.distinct(func.concat(Expense.recurring_expense_id, Expense.occurrence_date))),
                )
            )
        ).one()
        events = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.routing_key == "expense.created")
        )
    assert count == distinct == events == 12 * 30, "each occurrence once, and one expense.created for each"


async def test_reminders_go_out_once_per_due_date(env) -> None:
    alice = await env.signup()
    due = today_utc() + timedelta(days=2)
    made = env.data(
        await env.client.post(
            URL, json=schedule(name="Insurance", start_date=due.isoformat(), reminder_days=3), headers=alice.headers
        )
    )
    far = env.data(
        await env.client.post(
            URL, json=schedule(name="Later", start_date=(due + timedelta(days=30)).isoformat()), headers=alice.headers
        )
    )

    async def reminded() -> bool:
        return len(await env.outbox("expense.recurring_due")) >= 1

    await env.until(reminded)
    await asyncio.sleep(0.6)  # a few more scheduler passes
    (reminder,) = await env.outbox("expense.recurring_due")
    assert (reminder["recurring_expense_id"], reminder["due_date"], reminder["amount"], reminder["reminder_days"]) == (
        made["id"],
        due.isoformat(),
        "1200.00",
        3,
    )
    assert far["id"] != reminder["recurring_expense_id"]


async def test_paused_schedules_do_not_run_and_resume_skips_the_pause(env) -> None:
    alice = await env.signup()
    start = today_utc() - timedelta(days=3)
    made = env.data(
        await env.client.post(
            URL,
            json=schedule(
                name="Paper", amount="2", frequency="daily", start_date=(today_utc() + timedelta(days=1)).isoformat()
            ),
            headers=alice.headers,
        )
    )
    await env.client.post(f"{URL}/{made['id']}/pause", headers=alice.headers)
    async with env.svc.db.sessions() as session, session.begin():
        await session.execute(update(RecurringExpense).values(start_date=start, next_due_date=start))
    await asyncio.sleep(0.6)
    assert await materialised(env, made["id"]) == [], "nothing while paused"
    resumed = env.data(await env.client.post(f"{URL}/{made['id']}/resume", headers=alice.headers))
    assert resumed["next_due_date"] == today_utc().isoformat()

    async def one() -> bool:
        return len(await materialised(env, made["id"])) == 1

    await env.until(one)
    assert await materialised(env, made["id"]) == [(today_utc(), "2.00")]
