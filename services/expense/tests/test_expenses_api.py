"""Expenses over HTTP: create, read, update, delete, list with filters, summaries, and their events."""

import uuid

import pytest

from pfms_contracts.identity import UserUpdated
from pfms_expense.models import Expense, UserSettings

pytestmark = pytest.mark.integration

URL = "/api/v1/expenses"


async def test_create_read_update_delete_with_events(env) -> None:
    alice = await env.signup()
    groceries = await env.category_id(alice, "Groceries")
    created = await env.expense(
        alice,
        amount="42.5",
        category_id=groceries,
        description="Weekly shop",
        tags=["Food", "food", "home"],
        payment_method="card",
        location={"lat": 52.52, "lng": 13.4, "address": "Berlin"},
    )
    assert (created["amount"], created["currency"], created["tags"], created["source"]) == (
        "42.50",
        "USD",
        ["food", "home"],
        "manual",
    )
    (event,) = await env.outbox("expense.created")
    assert (event["amount"], event["category_name"], event["expense_date"], event["tags"]) == (
        "42.50",
        "Groceries",
        "2026-03-10",
        ["food", "home"],
    )
    assert event["user_id"] == str(alice.user_id)

    got = env.data(await env.client.get(f"{URL}/{created['id']}", headers=alice.headers))
    assert got["description"] == "Weekly shop"
    assert got == created
    assert env.data(await env.client.get(URL, headers=alice.headers)) == [got], "the list serialises the same way"

    patched = env.data(
        await env.client.patch(
            f"{URL}/{created['id']}", json={"amount": "50", "category_id": None}, headers=alice.headers
        )
    )
    assert (patched["amount"], patched["category_id"]) == ("50.00", None)
    (update,) = await env.outbox("expense.updated")
    assert update["previous_category_id"] == groceries and update["category_id"] is None

    unchanged = await env.client.patch(f"{URL}/{created['id']}", json={"amount": "50.00"}, headers=alice.headers)
    assert unchanged.status_code == 200
    assert len(await env.outbox("expense.updated")) == 1, "a PATCH that changes nothing publishes nothing"

    gone = env.data(await env.client.delete(f"{URL}/{created['id']}", headers=alice.headers))
    assert gone["id"] == created["id"]
    (deleted,) = await env.outbox("expense.deleted")
    assert deleted["expense_id"] == created["id"]
    assert (await env.client.get(f"{URL}/{created['id']}", headers=alice.headers)).status_code == 404


async def test_list_filters_sort_and_pagination(env) -> None:
    alice = await env.signup()
    food = await env.category_id(alice, "Food & Dining")
    groceries = await env.category_id(alice, "Groceries")
    fuel = await env.category_id(alice, "Fuel")
    made = [
        await env.expense(
            alice,
            amount="12.00",
            expense_date="2026-01-05",
            category_id=groceries,
            description="Farmers market",
            tags=["weekly"],
        ),
        await env.expense(
            alice,
            amount="30.00",
            expense_date="2026-01-20",
            category_id=food,
            description="Dinner 100% great_deal",
            tags=["weekly", "friends"],
            payment_method="cash",
        ),
        await env.expense(
            alice, amount="55.10", expense_date="2026-02-02", category_id=fuel, description="Gas station"
        ),
        await env.expense(alice, amount="7.25", expense_date="2026-02-10", currency="EUR", description="Espresso"),
    ]

    async def ids(**params) -> list[str]:
        response = await env.client.get(URL, params=params, headers=alice.headers)
        return [e["id"] for e in env.data(response)]

    assert await ids() == [made[3]["id"], made[2]["id"], made[1]["id"], made[0]["id"]], "newest first by default"
    assert await ids(category_id=food) == [made[1]["id"], made[0]["id"]], "sub-categories included"
    assert await ids(date_from="2026-01-10", date_to="2026-02-05") == [made[2]["id"], made[1]["id"]]
    assert await ids(tags=["weekly", "friends"]) == [made[1]["id"]]
    assert await ids(min_amount="12", max_amount="30", sort="amount") == [made[0]["id"], made[1]["id"]]
    assert await ids(payment_method="cash") == [made[1]["id"]]
    assert await ids(q="MARKET") == [made[0]["id"]]
    assert await ids(q="100%") == [made[1]["id"]], "LIKE wildcards are literal"
    assert await ids(q="s_s") == [], "underscore is literal too (it would match 'Gas station')"
    assert await ids(currency="EUR") == [made[3]["id"]]
    assert await ids(source="recurring") == []
    page = await env.client.get(URL, params={"limit": 3, "page": 2, "sort": "-amount"}, headers=alice.headers)
    body = page.json()
    assert body["pagination"] == {"page": 2, "limit": 3, "total": 4, "pages": 2, "has_next": False}
    assert [e["id"] for e in body["data"]] == [made[3]["id"]]


async def test_summaries_by_category_month_and_tag_in_the_profile_currency(env) -> None:
    alice = await env.signup()
    groceries = await env.category_id(alice, "Groceries")
    await env.expense(alice, amount="10.10", expense_date="2026-01-05", category_id=groceries, tags=["a", "b"])
    await env.expense(alice, amount="20.20", expense_date="2026-01-25", category_id=groceries, tags=["a"])
    await env.expense(alice, amount="5.00", expense_date="2026-02-01")
    await env.expense(alice, amount="99.00", expense_date="2026-02-01", currency="EUR")
    await env.expense(alice, amount="1.00", expense_date="2026-04-01")

    async def summary(group_by: str) -> dict:
        params = {"group_by": group_by, "date_from": "2026-01-01", "date_to": "2026-03-31"}
        return env.data(await env.client.get(f"{URL}/summary", params=params, headers=alice.headers))

    by_category = await summary("category")
    # No market-data here: the EUR expense has no rate, so it is listed apart, not guessed.
    assert (by_category["currency"], by_category["total"], by_category["unconverted"]) == (
        "USD",
        "35.30",
        [{"currency": "EUR", "total": "99.00", "count": 1}],
    )
    assert [(line["label"], line["total"], line["count"]) for line in by_category["lines"]] == [
        ("Groceries", "30.30", 2),
        (None, "5.00", 1),
    ]
    by_month = await summary("month")
    assert [(line["key"], line["total"]) for line in by_month["lines"]] == [("2026-01", "30.30"), ("2026-02", "5.00")]
    by_tag = await summary("tag")
    assert [(line["key"], line["total"], line["count"]) for line in by_tag["lines"]] == [
        ("a", "30.30", 2),
        ("b", "10.10", 1),
    ]
    bad = await env.client.get(
        f"{URL}/summary",
        params={"group_by": "year", "date_from": "2026-01-01", "date_to": "2026-03-31"},
        headers=alice.headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "group_by"


async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(env) -> None:
    alice = await env.signup()
    post = env.client.post
    malformed = await post(URL, content=b'{"amount": ', headers={**alice.headers, "content-type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "MALFORMED_JSON")
    cases = [
        ({"amount": "abc", "expense_date": "2026-01-01"}, "amount"),
        ({"amount": "1", "expense_date": "yesterday"}, "expense_date"),
        ({"amount": "1", "expense_date": "2026-01-01", "colour": "red"}, "colour"),
        ({"amount": "1", "expense_date": "2026-01-01", "currency": "XYZ"}, "currency"),
        ({"amount": "1.234", "expense_date": "2026-01-01", "currency": "USD"}, "amount"),
        ({"amount": "-5", "expense_date": "2026-01-01"}, "amount"),
        ({"amount": "1", "expense_date": "2026-01-01", "tags": "food"}, "tags"),
        ({"amount": "1", "expense_date": "2026-01-01", "category_id": str(uuid.uuid4())}, "category_id"),
        ({"amount": "1", "expense_date": "2026-01-01", "attachments": ["not a url"]}, "attachments.0"),
        ({"amount": "1", "expense_date": "2026-01-01", "location": {"lat": 91, "lng": 0}}, "location.lat"),
    ]
    for body, field in cases:
        response = await post(URL, json=body, headers=alice.headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["details"][0]["field"] == field, (body, response.text)
    assert await env.count(Expense) == 0
    assert await env.outbox("expense.created") == []
    made = await env.expense(alice)
    for body, field in [({"amount": None}, "amount"), ({"expense_date": 5}, "expense_date"), ({"nope": 1}, "nope")]:
        response = await env.client.patch(f"{URL}/{made['id']}", json=body, headers=alice.headers)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == field
    assert env.data(await env.client.get(f"{URL}/{made['id']}", headers=alice.headers))["amount"] == "10.00"
    assert (await env.client.get(URL, params={"limit": 101}, headers=alice.headers)).status_code == 422
    # a page past the last one the platform serves: a 422, not an OFFSET overflowing bigint (fuzzing found a 500)
    assert (await env.client.get(URL, params={"page": 10**20}, headers=alice.headers)).status_code == 422
    assert (await env.client.get(URL, params={"bogus": 1}, headers=alice.headers)).status_code == 422
    assert (await env.client.get(URL)).status_code == 401


async def test_another_users_expense_is_not_found(env) -> None:
    alice, mallory = await env.signup(), await env.signup()
    mine = await env.expense(alice)
    path = f"{URL}/{mine['id']}"
    assert (await env.client.get(path, headers=mallory.headers)).status_code == 404
    assert (await env.client.patch(path, json={"amount": "1"}, headers=mallory.headers)).status_code == 404
    assert (await env.client.delete(path, headers=mallory.headers)).status_code == 404
    assert env.data(await env.client.get(URL, headers=mallory.headers)) == []
    assert env.data(await env.client.get(path, headers=alice.headers))["amount"] == "10.00"
    theirs = await env.category_id(mallory, "Groceries")
    response = await env.client.post(
        URL, json={"amount": "1", "expense_date": "2026-01-01", "category_id": theirs}, headers=alice.headers
    )
    assert response.status_code == 422, "someone else's category is unknown to me"


async def test_currency_defaults_to_the_profile_currency(env) -> None:
    alice = await env.signup()
    await env.publish(UserUpdated(user_id=alice.user_id, section="profile", changes={"currency": "eur"}))

    async def euro() -> bool:
        return await env.count(UserSettings, UserSettings.user_id == alice.user_id, UserSettings.currency == "EUR") == 1

    await env.until(euro)
    response = await env.client.post(URL, json={"amount": "3", "expense_date": "2026-01-01"}, headers=alice.headers)
    assert env.data(response)["currency"] == "EUR"


async def test_an_expense_names_the_account_it_was_paid_from(env) -> None:
    """The accounts service books an expense on the account its events name; the id is not checked here
    (no reads of another service's database), the accounts service books only on the user's own account."""
    alice = await env.signup()
    checking, card = str(uuid.uuid4()), str(uuid.uuid4())
    made = await env.expense(alice, account_id=checking)
    assert made["account_id"] == checking
    async with env.svc.db.sessions() as session:
        row = await session.get(Expense, uuid.UUID(made["id"]))
        assert row is not None and str(row.account_id) == checking
    (created,) = await env.outbox("expense.created")
    assert created["account_id"] == checking
    assert env.data(await env.client.get(URL, headers=alice.headers))[0]["account_id"] == checking

    path = f"{URL}/{made['id']}"
    moved = env.data(await env.client.patch(path, json={"account_id": card}, headers=alice.headers))
    assert moved["account_id"] == card
    (updated,) = await env.outbox("expense.updated")
    assert updated["account_id"] == card

    for body in ({"account_id": "not-a-uuid"}, {"account_id": 5}):
        response = await env.client.patch(path, json=body, headers=alice.headers)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "account_id"
    response = await env.client.post(
        URL, json={"amount": "1", "expense_date": "2026-01-01", "account_id": "nope"}, headers=alice.headers
    )
    assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "account_id"
    assert await env.count(Expense) == 1 and len(await env.outbox("expense.updated")) == 1
    assert env.data(await env.client.get(path, headers=alice.headers))["account_id"] == card

    unlinked = env.data(await env.client.patch(path, json={"account_id": None}, headers=alice.headers))
    assert unlinked["account_id"] is None
    assert [e["account_id"] for e in await env.outbox("expense.updated")] == [card, None]
    env.data(await env.client.patch(path, json={"account_id": checking}, headers=alice.headers))
    assert env.data(await env.client.delete(path, headers=alice.headers))["account_id"] == checking
    (deleted,) = await env.outbox("expense.deleted")
    assert deleted["account_id"] == checking, "the accounts service reverses what it booked on that account"
