"""Asset states kept with every write, and realized gains re-issued when a write changes an earlier sell."""

import uuid
from datetime import date
from decimal import Decimal as D

import numpy as np
import pytest
from sqlalchemy import select, text

from pfms_investment import store
from pfms_investment.lots import Method
from pfms_investment.models import AssetStateRow
from pfms_investment.state import from_dict, rebuild

pytestmark = pytest.mark.integration

P = "/api/v1/portfolios"


async def stored_state_is_the_replay(env, portfolio_id: str, asset_id: str, method: Method) -> None:
    async with env.svc.db.sessions() as session:
        row = await session.scalar(select(AssetStateRow).where(AssetStateRow.asset_id == uuid.UUID(asset_id)))
        history = (await store.histories(session, uuid.UUID(portfolio_id), uuid.UUID(asset_id))).get(
            uuid.UUID(asset_id), []
        )
    assert row is not None and row.cost_method == method.value
    full, _ = rebuild(history, method)
    assert from_dict(row.detail) == full
    assert (row.quantity, row.cost, row.realized) == (full.position.quantity, full.position.cost, full.realized)
    assert np.frombuffer(row.days, "<i4").tolist() == [d.day.toordinal() for d in full.days]
    assert np.frombuffer(row.quantities, "<f8").tolist() == [float(d.quantity) for d in full.days]


def lots(event: dict) -> list[tuple[str, D, str, D, D, D]]:
    return [
        (x["lot_id"], D(x["quantity"]), x["acquisition_date"], D(x["proceeds"]), D(x["cost"]), D(x["gain"]))
        for x in event["lots"]
    ]


async def test_backdated_and_deleted_transactions_reissue_the_sells_gains(env) -> None:
    ann, bob = env.person(), env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "MSFT")
    pid, aid = p["id"], a["id"]
    buy_a = (await env.trade(ann, pid, aid, "buy", "2024-01-10", quantity="10", price="100"))["data"]
    sell = (await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="5", price="120"))["data"]
    # FIFO: the sell takes 5 of lot A (cost 500) for 600 -> gain 100.
    first = await env.outbox("investment.realized_gain")
    assert [(g["lot_id"], D(g["gain"]), g["revision"]) for g in first] == [(buy_a["id"], D(100), 0)]
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)

    # A buy of 10 @ 80 backdated to Jan 2 becomes the oldest lot: the sell now costs 400 -> gain 200.
    buy_b = (await env.trade(ann, pid, aid, "buy", "2024-01-02", quantity="10", price="80"))["data"]
    revised = await env.outbox("investment.realized_gain_revised")
    assert len(revised) == 1
    one = revised[0]
    assert (one["transaction_id"], one["revision"], one["reason"], one["disposal_date"]) == (
        sell["id"],
        1,
        "backdated_transaction",
        "2024-03-01",
    )
    assert lots(one) == [(buy_b["id"], D(5), "2024-01-02", D(600), D(400), D(200))]
    assert (D(one["proceeds"]), D(one["cost"]), D(one["gain"])) == (D(600), D(400), D(200))
    assert one["symbol"] == "MSFT" and one["cost_method"] == "fifo" and one["user_id"] == str(ann.user_id)
    assert len(await env.outbox("investment.realized_gain")) == 1  # the backdated buy itself disposed of nothing
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)
    analytics = (await env.client.get(f"{P}/{pid}/analytics", headers=ann.headers)).json()["data"]
    assert D(analytics["realized_pnl"]) == D(200)

    # A buy after the sell changes nothing earlier: no revision.
    await env.trade(ann, pid, aid, "buy", "2024-04-01", quantity="1", price="90")
    assert len(await env.outbox("investment.realized_gain_revised")) == 1

    # Someone else cannot delete it; deleting it puts the first figure back (revision 2).
    assert (await env.client.delete(f"{P}/{pid}/transactions/{buy_b['id']}", headers=bob.headers)).status_code == 404
    assert len(await env.outbox("investment.realized_gain_revised")) == 1
    deleted = await env.client.delete(f"{P}/{pid}/transactions/{buy_b['id']}", headers=ann.headers)
    assert deleted.status_code == 204, deleted.text
    second = (await env.outbox("investment.realized_gain_revised"))[-1]
    assert (second["revision"], second["reason"]) == (2, "transaction_deleted")
    assert lots(second) == [(buy_a["id"], D(5), "2024-01-10", D(600), D(500), D(100))]
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)

    # Deleting the sell withdraws its gains (revision 3, no lots).
    assert (await env.client.delete(f"{P}/{pid}/transactions/{sell['id']}", headers=ann.headers)).status_code == 204
    third = (await env.outbox("investment.realized_gain_revised"))[-1]
    assert (third["transaction_id"], third["revision"], third["lots"], D(third["gain"])) == (sell["id"], 3, [], 0)
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)
    analytics = (await env.client.get(f"{P}/{pid}/analytics", headers=ann.headers)).json()["data"]
    assert (D(analytics["realized_pnl"]), D(analytics["assets"][0]["quantity"])) == (D(0), D(11))


async def test_a_refused_backdated_sell_changes_nothing(env) -> None:
    ann = env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "IBM")
    pid, aid = p["id"], a["id"]
    await env.trade(ann, pid, aid, "buy", "2024-01-10", quantity="10", price="100")
    await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="8", price="120")
    refused = await env.trade(ann, pid, aid, "buy", "2024-01-05", quantity="1", price="1", fees="-1", status=422)
    assert refused["error"]["details"][0]["field"] == "fees"
    # Selling 5 on Feb 1 leaves 5, less than the 8 the March sell needs.
    oversold = await env.trade(ann, pid, aid, "sell", "2024-02-01", quantity="5", price="110", status=422)
    assert "only 5 held on 2024-03-01" in oversold["error"]["message"]
    assert await env.outbox("investment.realized_gain_revised") == []
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)


async def test_cost_method_change_and_asset_deletion_reissue_gains(env) -> None:
    ann = env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "AMZN")
    pid, aid = p["id"], a["id"]
    await env.trade(ann, pid, aid, "buy", "2024-01-02", quantity="10", price="100")
    last = (await env.trade(ann, pid, aid, "buy", "2024-02-01", quantity="10", price="200"))["data"]
    sell = (await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="5", price="300"))["data"]
    # FIFO cost 500 (gain 1000); LIFO takes the Feb lot: cost 1000, gain 500.
    patched = await env.client.patch(f"{P}/{pid}", json={"cost_method": "lifo"}, headers=ann.headers)
    assert patched.status_code == 200, patched.text
    revised = await env.outbox("investment.realized_gain_revised")
    assert [(r["transaction_id"], r["revision"], r["reason"], r["cost_method"]) for r in revised] == [
        (sell["id"], 1, "cost_method_changed", "lifo")
    ]
    assert lots(revised[0]) == [(last["id"], D(5), "2024-02-01", D(1500), D(1000), D(500))]
    await stored_state_is_the_replay(env, pid, aid, Method.LIFO)
    analytics = (await env.client.get(f"{P}/{pid}/analytics", headers=ann.headers)).json()["data"]
    assert (analytics["cost_method"], D(analytics["realized_pnl"])) == ("lifo", D(500))

    assert (await env.client.delete(f"{P}/{pid}/assets/{aid}", headers=ann.headers)).status_code == 204
    gone = (await env.outbox("investment.realized_gain_revised"))[-1]
    assert (gone["transaction_id"], gone["revision"], gone["reason"], gone["lots"]) == (
        sell["id"],
        2,
        "asset_deleted",
        [],
    )
    assert await env.count(AssetStateRow) == 0


async def test_rows_without_a_state_are_replayed_on_the_first_analytics(env) -> None:
    """Transactions written before the states table existed (here: straight into the table)."""
    ann = env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "ORCL")
    async with env.svc.db.sessions() as session, session.begin():
        for day, kind, quantity, price in (("2024-01-02", "buy", 10, 100), ("2024-02-01", "sell", 4, 150)):
            await session.execute(
                text(
                    "INSERT INTO investment_transactions (id, user_id, portfolio_id, asset_id, transaction_type,"
                    " quantity, price, trade_date) VALUES (:id, :user, :p, :a, :kind, :q, :price, :day)"
                ),
                {
                    "id": uuid.uuid4(),
                    "user": ann.user_id,
                    "p": uuid.UUID(p["id"]),
                    "a": uuid.UUID(a["id"]),
                    "kind": kind,
                    "q": quantity,
                    "price": price,
                    "day": date.fromisoformat(day),
                },
            )
    assert await env.count(AssetStateRow) == 0
    response = await env.client.get(f"{P}/{p['id']}/analytics", headers=ann.headers)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    # Sold 4 bought at 100 for 150: +200; 6 left at the last trade price 150 (cost 600) -> +300 unrealized.
    assert (D(data["realized_pnl"]), D(data["unrealized_pnl"]), D(data["current_value"])) == (D(200), D(300), D(900))
    assert await env.count(AssetStateRow) == 1
    await stored_state_is_the_replay(env, p["id"], a["id"], Method.FIFO)


async def test_editing_a_transaction_reissues_the_gains_it_changes(env) -> None:
    ann, bob = env.person(), env.person()
    p = await env.portfolio(ann)
    a = await env.asset(ann, p["id"], "SAP")
    other = await env.asset(ann, p["id"], "ADBE")
    pid, aid = p["id"], a["id"]
    buy = (await env.trade(ann, pid, aid, "buy", "2024-01-10", quantity="10", price="100"))["data"]
    sell = (await env.trade(ann, pid, aid, "sell", "2024-03-01", quantity="5", price="120"))["data"]
    path = f"{P}/{pid}/transactions/{buy['id']}"
    body = {"asset_id": aid, "transaction_type": "buy", "date": "2024-01-10", "quantity": "10", "price": "90"}

    # Bad input changes nothing: malformed JSON, a wrong type, an unknown field, another asset, an oversell.
    malformed = await env.client.put(path, content=b"{", headers={**ann.headers, "content-type": "application/json"})
    assert malformed.status_code == 400, malformed.text
    for wrong, field in (({**body, "price": "x"}, "price"), ({**body, "colour": "red"}, "colour")):
        response = await env.client.put(path, json=wrong, headers=ann.headers)
        assert response.status_code == 422, response.text
        assert field in response.json()["error"]["details"][0]["field"]
    moved = await env.client.put(path, json={**body, "asset_id": other["id"]}, headers=ann.headers)
    assert (moved.status_code, moved.json()["error"]["details"][0]["field"]) == (422, "asset_id")
    oversold = await env.client.put(path, json={**body, "quantity": "4"}, headers=ann.headers)
    assert oversold.status_code == 422 and "only 4 held on 2024-03-01" in oversold.json()["error"]["message"]
    assert (await env.client.put(path, json=body, headers=bob.headers)).status_code == 404
    assert await env.outbox("investment.realized_gain_revised") == []
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)

    # The buy cost 90 a unit, not 100: the sell's 5 units cost 450 -> gain 150 (was 100).
    edited = await env.client.put(path, json=body, headers=ann.headers)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["data"]["id"], D(edited.json()["data"]["price"])) == (buy["id"], D(90))
    revised = await env.outbox("investment.realized_gain_revised")
    assert [(r["transaction_id"], r["revision"], r["reason"]) for r in revised] == [
        (sell["id"], 1, "transaction_edited")
    ]
    assert lots(revised[0]) == [(buy["id"], D(5), "2024-01-10", D(600), D(450), D(150))]
    await stored_state_is_the_replay(env, pid, aid, Method.FIFO)

    # Editing the sell itself (a better price) re-issues it too.
    sell_body = {"asset_id": aid, "transaction_type": "sell", "date": "2024-03-01", "quantity": "5", "price": "130"}
    response = await env.client.put(f"{P}/{pid}/transactions/{sell['id']}", json=sell_body, headers=ann.headers)
    assert response.status_code == 200, response.text
    last = (await env.outbox("investment.realized_gain_revised"))[-1]
    assert (last["transaction_id"], last["revision"], D(last["gain"])) == (sell["id"], 2, D(200))
    analytics = (await env.client.get(f"{P}/{pid}/analytics", headers=ann.headers)).json()["data"]
    assert D(analytics["realized_pnl"]) == D(200)
