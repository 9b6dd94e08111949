"""Portfolios and assets over HTTP: CRUD, unique names, bad input, and another user's objects are 404."""

import pytest
from fastapi import FastAPI

from pfms_investment import api_portfolios, api_watchlists
from pfms_investment.models import Asset, Portfolio

pytestmark = pytest.mark.integration

P = "/api/v1/portfolios"


async def test_portfolio_crud_and_unique_name_per_user(env) -> None:
    ann, bob = env.person(), env.person()
    created = await env.post(P, {"name": "Core", "base_currency": "eur", "cost_method": "average"}, ann)
    assert (created["base_currency"], created["cost_method"], created["benchmark"]) == ("EUR", "average", None)
    await env.post(P, {"name": "Core"}, ann, status=409)
    await env.post(P, {"name": "Core"}, bob)  # another user may use the same name

    listed = (await env.client.get(P, headers=ann.headers)).json()
    assert [p["name"] for p in listed["data"]] == ["Core"] and listed["pagination"]["total"] == 1

    url = f"{P}/{created['id']}"
    patch = {"description": "long term", "benchmark": {"symbol": "vwce", "asset_class": "stock"}}
    updated = (await env.client.patch(url, json=patch, headers=ann.headers)).json()["data"]
    assert updated["benchmark"] == {"symbol": "VWCE", "asset_class": "stock"}
    assert updated["description"] == "long term"
    assert [e["action"] for e in await env.outbox("investment.symbols_changed")] == ["watch"]

    for method, kw in (("get", {}), ("patch", {"json": {"name": "x"}}), ("delete", {})):
        response = await getattr(env.client, method)(url, headers=bob.headers, **kw)
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await env.client.delete(url, headers=ann.headers)).status_code == 204
    assert await env.count(Portfolio, Portfolio.user_id == ann.user_id) == 0
    assert [e["action"] for e in await env.outbox("investment.symbols_changed")] == ["watch", "unwatch"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ("{not json", 400, "body"),
        ({"name": "x", "colour": "red"}, 422, "colour"),
        ({"name": 5}, 422, "name"),
        ({"name": "x", "base_currency": "XXZ"}, 422, "base_currency"),
        ({"name": "x", "cost_method": "hifo"}, 422, "cost_method"),
        ({"name": ""}, 422, "name"),
    ],
)
async def test_bad_portfolio_input_names_the_field_and_changes_nothing(env, body, status, field) -> None:
    ann = env.person()
    kw = (
        {"content": body, "headers": {**ann.headers, "content-type": "application/json"}}
        if isinstance(body, str)
        else {
            "json": body,
            "headers": ann.headers,
        }
    )
    response = await env.client.post(P, **kw)
    assert response.status_code == status, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    assert await env.count(Portfolio) == 0


async def test_assets_belong_to_the_callers_portfolio(env) -> None:
    ann, bob = env.person(), env.person()
    p = await env.portfolio(ann)
    aapl = await env.asset(ann, p["id"], "aapl", sector="Technology", name="Apple")
    assert (aapl["symbol"], aapl["currency"]) == ("AAPL", "USD")
    await env.post(f"{P}/{p['id']}/assets", {"asset_type": "stock", "symbol": "AAPL"}, ann, status=409)
    await env.post(f"{P}/{p['id']}/assets", {"asset_type": "stock", "symbol": "MSFT"}, bob, status=404)
    await env.post(
        f"{P}/{p['id']}/assets", {"asset_type": "stock", "symbol": "X", "manual_price": "1"}, ann, status=422
    )
    await env.post(f"{P}/{p['id']}/assets", {"asset_type": "gold", "symbol": "X"}, ann, status=422)
    house = await env.asset(ann, p["id"], "HOUSE", asset_type="custom", manual_price="250000")
    assert house["manual_price"] == "250000.00000000"

    listed = (await env.client.get(f"{P}/{p['id']}/assets", headers=ann.headers)).json()
    assert [a["symbol"] for a in listed["data"]] == ["AAPL", "HOUSE"]
    assert (await env.client.get(f"{P}/{p['id']}/assets", headers=bob.headers)).status_code == 404
    url = f"{P}/{p['id']}/assets/{aapl['id']}"
    assert (await env.client.patch(url, json={"sector": "IT"}, headers=bob.headers)).status_code == 404
    assert (await env.client.delete(url, headers=bob.headers)).status_code == 404
    assert (await env.client.patch(url, json={"sector": "IT"}, headers=ann.headers)).json()["data"]["sector"] == "IT"
    # Only the market symbol is tracked: custom assets have manual prices.
    watched = await env.outbox("investment.symbols_changed")
    assert [(e["action"], e["symbols"]) for e in watched] == [("watch", [{"symbol": "AAPL", "asset_class": "stock"}])]
    assert (await env.client.delete(url, headers=ann.headers)).status_code == 204
    assert await env.count(Asset, Asset.portfolio_id == p["id"]) == 1
    assert (await env.outbox("investment.symbols_changed"))[-1]["action"] == "unwatch"


def test_every_conflict_is_documented() -> None:
    """Fuzzing found these answering 409 (name or symbol taken) while their OpenAPI did not list it."""
    app = FastAPI()
    app.include_router(api_portfolios.router)
    app.include_router(api_watchlists.router)
    paths = app.openapi()["paths"]
    for method, path in [
        ("post", P),
        ("patch", P + "/{portfolio_id}"),
        ("post", P + "/{portfolio_id}/assets"),
        ("post", "/api/v1/watchlists"),
    ]:
        assert "409" in paths[path][method]["responses"], (method, path)
