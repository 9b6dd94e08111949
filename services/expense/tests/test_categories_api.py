"""Categories: the default tree from user.created, user categories, nesting, hiding, merging, deleting."""

import uuid
from datetime import UTC, datetime

import pytest

from pfms_contracts import CloudEvent
from pfms_contracts.identity import UserCreated
from pfms_expense.categories import DEFAULT_TREE
from pfms_expense.models import Category, Expense

pytestmark = pytest.mark.integration

URL = "/api/v1/categories"
DEFAULT_COUNT = sum(1 + len(children) for *_, children in DEFAULT_TREE)


async def test_default_tree_is_created_once(env) -> None:
    alice = await env.signup()
    listed = await env.client.get(URL, params={"limit": 100}, headers=alice.headers)
    body = listed.json()
    assert body["pagination"]["total"] == DEFAULT_COUNT
    by_name = {c["name"]: c for c in body["data"]}
    assert by_name["Groceries"]["parent_id"] == by_name["Food & Dining"]["id"]
    assert all(c["is_system"] for c in body["data"])
    again = CloudEvent.wrap(
        "auth", UserCreated(user_id=alice.user_id, email="a@example.com", created_at=datetime.now(UTC))
    )
    assert await env.svc.app.state.consumer.apply(again, UserCreated.model_validate(again.data)) is True
    assert await env.count(Category, Category.user_id == alice.user_id) == DEFAULT_COUNT


async def test_user_categories_rename_recolour_nest_and_hide_system_ones(env) -> None:
    alice = await env.signup()
    hobbies = await env.category_id(alice, "Hobbies")
    made = env.data(
        await env.client.post(
            URL, json={"name": "Pottery", "color": "#aa00FF", "parent_id": hobbies}, headers=alice.headers
        )
    )
    assert (made["parent_id"], made["is_system"], made["color"]) == (hobbies, False, "#aa00FF")
    taken = await env.client.post(URL, json={"name": "Groceries"}, headers=alice.headers)
    assert taken.status_code == 409 and taken.json()["error"]["details"][0]["field"] == "name"
    child = env.data(
        await env.client.post(URL, json={"name": "Glazes", "parent_id": made["id"]}, headers=alice.headers)
    )
    cycle = await env.client.patch(f"{URL}/{made['id']}", json={"parent_id": child["id"]}, headers=alice.headers)
    assert cycle.status_code == 422 and cycle.json()["error"]["details"][0]["field"] == "parent_id"
    renamed = env.data(
        await env.client.patch(
            f"{URL}/{made['id']}", json={"name": "Ceramics", "parent_id": None, "icon": "pot"}, headers=alice.headers
        )
    )
    assert (renamed["name"], renamed["parent_id"], renamed["icon"]) == ("Ceramics", None, "pot")

    taxes = await env.category_id(alice, "Taxes")
    refused = await env.client.patch(f"{URL}/{taxes}", json={"name": "Fees"}, headers=alice.headers)
    assert refused.status_code == 403
    hidden = env.data(
        await env.client.patch(f"{URL}/{taxes}", json={"hidden": True, "color": "#000000"}, headers=alice.headers)
    )
    assert hidden["hidden"] is True
    visible = [c["id"] for c in env.data(await env.client.get(URL, params={"limit": 100}, headers=alice.headers))]
    assert taxes not in visible
    everything = await env.client.get(URL, params={"limit": 100, "include_hidden": True}, headers=alice.headers)
    assert taxes in [c["id"] for c in env.data(everything)]
    assert (await env.client.delete(f"{URL}/{taxes}", headers=alice.headers)).status_code == 403

    bad = await env.client.post(URL, json={"name": "X", "color": "red"}, headers=alice.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "color"
    assert (await env.client.post(URL, json={"name": ""}, headers=alice.headers)).status_code == 422


async def test_delete_refuses_a_used_category_and_merge_moves_everything(env) -> None:
    alice = await env.signup()
    coffee = env.data(await env.client.post(URL, json={"name": "Coffee"}, headers=alice.headers))
    sub = env.data(await env.client.post(URL, json={"name": "Beans", "parent_id": coffee["id"]}, headers=alice.headers))
    spent = [await env.expense(alice, category_id=coffee["id"], amount=a) for a in ("3.50", "4.00")]
    budget = await env.client.post(
        "/api/v1/budgets",
        json={
            "name": "Coffee",
            "category_id": coffee["id"],
            "amount": "100",
            "currency": "USD",
            "period": "monthly",
            "start_date": "2026-03-01",
        },
        headers=alice.headers,
    )
    assert budget.status_code == 201, budget.text
    in_use = await env.client.delete(f"{URL}/{coffee['id']}", headers=alice.headers)
    assert in_use.status_code == 409

    snacks = await env.category_id(alice, "Coffee & Snacks")
    merged = env.data(
        await env.client.post(f"{URL}/{coffee['id']}/merge", json={"into_id": snacks}, headers=alice.headers)
    )
    assert (merged["into"]["id"], merged["moved_expenses"]) == (snacks, 2)
    assert await env.count(Expense, Expense.category_id == uuid.UUID(snacks)) == 2
    assert env.data(await env.client.get(f"{URL}/{sub['id']}", headers=alice.headers))["parent_id"] == snacks
    moved_budget = env.data(
        await env.client.get(f"/api/v1/budgets/{budget.json()['data']['id']}", headers=alice.headers)
    )
    assert moved_budget["category_id"] == snacks
    updates = await env.outbox("expense.updated")
    assert sorted(u["expense_id"] for u in updates) == sorted(e["id"] for e in spent)
    assert {(u["category_id"], u["previous_category_id"], u["category_name"]) for u in updates} == {
        (snacks, coffee["id"], "Coffee & Snacks")
    }
    assert (await env.client.get(f"{URL}/{coffee['id']}", headers=alice.headers)).status_code == 404

    assert (
        await env.client.post(f"{URL}/{sub['id']}/merge", json={"into_id": sub["id"]}, headers=alice.headers)
    ).status_code == 422
    gone = await env.client.delete(f"{URL}/{sub['id']}", headers=alice.headers)
    assert gone.status_code == 200, gone.text


async def test_another_users_category_is_not_found(env) -> None:
    alice, mallory = await env.signup(), await env.signup()
    mine = env.data(await env.client.post(URL, json={"name": "Secret"}, headers=alice.headers))
    path = f"{URL}/{mine['id']}"
    assert (await env.client.get(path, headers=mallory.headers)).status_code == 404
    assert (await env.client.patch(path, json={"name": "x"}, headers=mallory.headers)).status_code == 404
    assert (await env.client.delete(path, headers=mallory.headers)).status_code == 404
    theirs = await env.category_id(mallory, "Other")
    merge = await env.client.post(f"{path}/merge", json={"into_id": theirs}, headers=alice.headers)
    assert merge.status_code == 422 and merge.json()["error"]["details"][0]["field"] == "into_id"
    assert (
        await env.client.post(f"{URL}/{theirs}/merge", json={"into_id": mine["id"]}, headers=alice.headers)
    ).status_code == 404
    nested = await env.client.post(URL, json={"name": "Mine", "parent_id": theirs}, headers=alice.headers)
    assert nested.status_code == 422 and nested.json()["error"]["details"][0]["field"] == "parent_id"
