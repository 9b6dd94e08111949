"""Expenses in a category the user marks deductible become deduction suggestions (from real events)."""

import uuid
from datetime import date
from decimal import Decimal

import pytest

from pfms_contracts.expense import ExpenseCreated, ExpenseDeleted, ExpenseUpdated
from pfms_tax.models import DeductionSuggestion

from .conftest import Harness, Person, error_fields

pytestmark = pytest.mark.integration

CATEGORIES = "/api/v1/tax/deductible-categories"
SUGGESTIONS = "/api/v1/tax/deduction-suggestions"


def spent(person: Person, amount: str, **extra) -> ExpenseCreated:
    values = {
        "user_id": person.user_id,
        "expense_id": uuid.uuid4(),
        "amount": Decimal(amount),
        "currency": "USD",
        "expense_date": date(2024, 7, 1),
        "description": "Red Cross",
        **extra,
    }
    return ExpenseCreated(**values)


async def mark(env: Harness, person: Person, **body: object) -> dict[str, object]:
    response = await env.client.post(CATEGORIES, json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def pending(env: Harness, person: Person) -> list[dict[str, object]]:
    return list((await env.client.get(SUGGESTIONS, headers=person.headers)).json()["data"])


async def test_expenses_in_marked_categories_are_suggested_and_accepted_as_deductions(env: Harness) -> None:
    me = env.person()
    donations = uuid.uuid4()
    await mark(env, me, category_id=str(donations), deduction_category="charitable")
    await mark(env, me, category_name="Medical", deduction_category="medical")

    gift = spent(me, "120.00", category_id=donations)
    await env.deliver(gift, source="expense")
    await env.deliver(spent(me, "80.00", category_name="medical"), source="expense")
    await env.deliver(spent(me, "15.00", category_name="Groceries"), source="expense")
    suggestions = await pending(env, me)
    assert sorted((s["deduction_category"], s["amount"]) for s in suggestions) == [
        ("charitable", "120.00"),
        ("medical", "80.00"),
    ]

    edited = ExpenseUpdated(
        **{**gift.model_dump(), "amount": Decimal("150.00")},
        previous_amount=gift.amount,
        previous_expense_date=gift.expense_date,
        previous_category_id=donations,
    )
    await env.deliver(edited, source="expense")
    charitable = next(s for s in await pending(env, me) if s["deduction_category"] == "charitable")
    assert charitable["amount"] == "150.00"

    accepted = await env.client.post(f"{SUGGESTIONS}/{charitable['id']}/accept", headers=me.headers)
    assert accepted.status_code == 201, accepted.text
    deduction = accepted.json()["data"]
    assert (deduction["category"], deduction["amount"], deduction["tax_year"], deduction["status"]) == (
        "charitable",
        "150.00",
        2024,
        "claimed",
    )
    assert deduction["document_reference"] == f"expense:{gift.expense_id}"
    again = await env.client.post(f"{SUGGESTIONS}/{charitable['id']}/accept", headers=me.headers)
    assert again.status_code == 409

    medical = next(s for s in await pending(env, me) if s["deduction_category"] == "medical")
    dismissed = await env.client.post(f"{SUGGESTIONS}/{medical['id']}/dismiss", headers=me.headers)
    assert dismissed.status_code == 200 and dismissed.json()["data"]["status"] == "dismissed"
    assert await pending(env, me) == []
    accepted_list = (await env.client.get(SUGGESTIONS, params={"status": "accepted"}, headers=me.headers)).json()
    assert [s["deduction_id"] for s in accepted_list["data"]] == [deduction["id"]]


async def test_an_expense_moved_out_of_the_category_or_deleted_is_no_longer_suggested(env: Harness) -> None:
    me = env.person()
    await mark(env, me, category_name="Medical", deduction_category="medical")
    moved, removed = spent(me, "40", category_name="Medical"), spent(me, "60", category_name="Medical")
    await env.deliver(moved, source="expense")
    await env.deliver(removed, source="expense")
    assert len(await pending(env, me)) == 2
    await env.deliver(
        ExpenseUpdated(
            **{**moved.model_dump(), "category_name": "Travel"},
            previous_amount=moved.amount,
            previous_expense_date=moved.expense_date,
        ),
        source="expense",
    )
    await env.deliver(
        ExpenseDeleted(
            user_id=me.user_id,
            expense_id=removed.expense_id,
            amount=removed.amount,
            currency="USD",
            expense_date=removed.expense_date,
        ),
        source="expense",
    )
    assert await pending(env, me) == []


async def test_marking_validates_and_belongs_to_its_owner(env: Harness) -> None:
    me, other = env.person(), env.person()
    neither = await env.client.post(CATEGORIES, json={"deduction_category": "medical"}, headers=me.headers)
    assert neither.status_code == 422 and error_fields(neither) == ["category_id"]
    unknown = await env.client.post(
        CATEGORIES, json={"category_name": "x", "deduction_category": "medical", "why": 1}, headers=me.headers
    )
    assert unknown.status_code == 422 and error_fields(unknown) == ["why"]
    row = await mark(env, me, category_name="Medical", deduction_category="medical")
    twice = await env.client.post(
        CATEGORIES, json={"category_name": "MEDICAL", "deduction_category": "medical"}, headers=me.headers
    )
    assert twice.status_code == 409
    assert (await env.client.delete(f"{CATEGORIES}/{row['id']}", headers=other.headers)).status_code == 404
    assert (await env.client.get(CATEGORIES, headers=other.headers)).json()["data"] == []

    await env.deliver(spent(me, "40", category_name="Medical"), source="expense")
    [suggestion] = await pending(env, me)
    for action in ("accept", "dismiss"):
        response = await env.client.post(f"{SUGGESTIONS}/{suggestion['id']}/{action}", headers=other.headers)
        assert response.status_code == 404
    assert await pending(env, other) == []
    assert (await env.client.delete(f"{CATEGORIES}/{row['id']}", headers=me.headers)).status_code == 204
    await env.deliver(spent(me, "40", category_name="Medical"), source="expense")
    assert await env.count(DeductionSuggestion, DeductionSuggestion.user_id == me.user_id) == 1
