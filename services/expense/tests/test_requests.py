"""Changes other services ask for over the bus: the ai service's guesses and automation's edits."""

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from pfms_contracts.expense import ExpenseAmendRequested, ExpenseCategorized, ExpenseCreateRequested
from pfms_expense.models import Expense

pytestmark = pytest.mark.integration


async def _expense(env, expense_id: str) -> Expense:
    async with env.svc.db.sessions() as session:
        row = await session.scalar(select(Expense).where(Expense.id == uuid.UUID(expense_id)))
    assert row is not None
    return row


def _guess(person, expense_id: str, name: str, category_id: str | None = None) -> ExpenseCategorized:
    return ExpenseCategorized(
        user_id=person.user_id,
        expense_id=uuid.UUID(expense_id),
        category_id=uuid.UUID(category_id) if category_id else None,
        category_name=name,
        confidence=Decimal("0.91"),
        model_version="u-3",
    )


async def test_a_guess_categorises_an_uncategorised_expense_and_never_overrides_a_choice(env) -> None:
    me = await env.signup()
    plain = await env.expense(me, description="UBER *TRIP")
    chosen = await env.expense(me, description="UBER EATS", category_id=await env.category_id(me, "Food & Dining"))
    await env.publish(_guess(me, plain["id"], "transportation"), source="ai")
    await env.publish(_guess(me, chosen["id"], "Transportation"), source="ai")

    transport = await env.category_id(me, "Transportation")

    async def applied() -> bool:
        return str((await _expense(env, plain["id"])).category_id) == transport

    await env.until(applied)
    assert str((await _expense(env, chosen["id"])).category_id) == await env.category_id(me, "Food & Dining")
    (update,) = await env.outbox("expense.updated")
    assert update["expense_id"] == plain["id"] and update["category_name"] == "Transportation"
    assert update["previous_category_id"] is None


async def test_a_guess_for_someone_elses_expense_changes_nothing(env) -> None:
    me, other = await env.signup(), await env.signup()
    mine = await env.expense(me, description="UBER")
    await env.publish(_guess(other, mine["id"], "Transportation"), source="ai")
    await env.publish(_guess(me, mine["id"], "No such category"), source="ai")
    marker = await env.expense(me, description="marker")
    await env.publish(_guess(me, marker["id"], "Shopping"), source="ai")

    async def marker_done() -> bool:
        return (await _expense(env, marker["id"])).category_id is not None

    await env.until(marker_done)  # handled in order: the two before it were seen and dropped
    assert (await _expense(env, mine["id"])).category_id is None


async def test_an_amend_sets_the_category_by_name_and_adds_and_removes_tags(env) -> None:
    me = await env.signup()
    row = await env.expense(me, description="UBER *TRIP", tags=["work", "old"])
    request = ExpenseAmendRequested(
        user_id=me.user_id,
        request_id=uuid.uuid4(),
        expense_id=uuid.UUID(row["id"]),
        category_name="transportation",
        add_tags=["Ride", "work"],
        remove_tags=["old"],
        requested_by="automation:rule:1",
    )
    await env.publish(request, source="automation")

    async def amended() -> bool:
        return list((await _expense(env, row["id"])).tags) == ["work", "ride"]

    await env.until(amended)
    assert str((await _expense(env, row["id"])).category_id) == await env.category_id(me, "Transportation")
    (update,) = await env.outbox("expense.updated")
    assert update["tags"] == ["work", "ride"]


async def test_a_create_request_records_one_expense_however_often_it_arrives(env) -> None:
    me = await env.signup()
    request = ExpenseCreateRequested(
        user_id=me.user_id,
        request_id=uuid.uuid4(),
        amount=Decimal("4.50"),
        currency="EUR",
        expense_date=date(2026, 3, 2),
        description="Coffee (rule)",
        category_name="Food & Dining",
        tags=["Auto"],
        requested_by="automation:rule:7",
    )
    bad = request.model_copy(update={"request_id": uuid.uuid4(), "amount": Decimal("4.505")})
    await env.publish(bad, source="automation")  # too many decimals for EUR: refused, before the good ones
    for _ in range(2):  # two deliveries with different event ids: the request id makes them one
        await env.publish(request, source="automation")

    async def created() -> bool:
        return len(await env.outbox("expense.created")) == 1

    await env.until(created)
    row = await _expense(env, str(request.request_id))
    assert (row.amount, row.currency, row.source, list(row.tags)) == (Decimal("4.50"), "EUR", "auto", ["auto"])
    assert str(row.category_id) == await env.category_id(me, "Food & Dining")
    listed = env.data(await env.client.get("/api/v1/expenses", headers=me.headers))
    assert [e["id"] for e in listed] == [str(request.request_id)]
