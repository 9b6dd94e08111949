"""POST /api/v1/ai/categorize: the global model for a new user, the envelope, bad input, thresholds."""

import uuid

import pytest

pytestmark = pytest.mark.integration


async def test_a_new_user_gets_the_global_model_with_alternatives(env) -> None:
    user = uuid.uuid4()
    response = await env.client.post(
        "/api/v1/ai/categorize",
        json={"description": "STARBUCKS STORE 00123", "amount": "4.50", "currency": "usd"},
        headers=env.auth(user),
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["category"] == "Coffee & Snacks"
    assert data["source"] == "global"
    assert 0.4 <= float(data["confidence"]) <= 1
    assert isinstance(data["confidence"], str)
    assert len(data["alternatives"]) == 3
    assert data["model_version"].startswith("g-")


async def test_a_weak_guess_names_no_category(make_env) -> None:
    strict = await make_env(categorize_min_confidence="0.999")
    response = await strict.client.post(
        "/api/v1/ai/categorize",
        json={"description": "misc thing", "amount": "3", "currency": "EUR"},
        headers=strict.auth(uuid.uuid4()),
    )
    data = response.json()["data"]
    assert data["category"] is None and data["best_guess"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"description": "x", "amount": 3, "currency": "USD", "extra": 1}, "extra"),
        ({"description": "x", "amount": "-3", "currency": "USD"}, "amount"),
        ({"description": "x", "amount": "3", "currency": "ZZZ"}, "currency"),
        ({"description": "", "amount": "3", "currency": "USD"}, "description"),
        ({"amount": "3", "currency": "USD"}, "description"),
    ],
)
async def test_bad_input_names_the_field(env, body: dict[str, object], field: str) -> None:
    response = await env.client.post("/api/v1/ai/categorize", json=body, headers=env.auth(uuid.uuid4()))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_malformed_json_and_no_token(env) -> None:
    headers = {**env.auth(uuid.uuid4()), "content-type": "application/json"}
    response = await env.client.post("/api/v1/ai/categorize", content=b"{nope", headers=headers)
    assert response.status_code == 400
    assert (await env.client.post("/api/v1/ai/categorize", json={})).status_code == 401
