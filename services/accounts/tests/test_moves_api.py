"""Transfers and exchanges over HTTP: funds checks, idempotency keys, parallel transfers that can never
overdraw, quoted exchanges at market-data's rate, and net worth in the user's currency."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from sqlalchemy import update

from pfms_accounts.models import FxQuote, IdempotencyKey, JournalEntry
from pfms_finance.currency import quantize

from .conftest import Harness

pytestmark = pytest.mark.integration


async def test_a_transfer_moves_money_and_refuses_to_overdraw_a_wallet(env: Harness) -> None:
    a = await env.account(opening_balance="100")
    b = await env.account(name="Savings", type="savings")
    moved = await env.transfer(a["id"], b["id"], "60.5")
    assert moved.status_code == 201, moved.text
    legs = {leg["account_id"]: leg for leg in moved.json()["data"]["legs"]}
    assert legs[a["id"]]["balance_after"] == "39.50" and legs[b["id"]]["amount"] == "60.50"
    refused = await env.transfer(a["id"], b["id"], "39.51")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert refused.json()["error"]["details"][0]["field"] == "amount"
    assert await env.balance(a["id"]) == Decimal("39.50")
    eur = await env.account(currency="EUR")
    other = await env.transfer(a["id"], eur["id"], "1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "CURRENCY_MISMATCH"
    assert (await env.transfer(a["id"], a["id"], "1")).status_code == 422
    assert (await env.transfer(a["id"], b["id"], "0.001")).status_code == 422
    assert (await env.transfer(a["id"], b["id"], "-1")).status_code == 422
    events = await env.outbox("account.transfer_completed")
    assert [(e["from_account_id"], Decimal(e["amount"])) for e in events] == [(a["id"], Decimal("60.5"))]
    assert await env.ledger_sums() == {"USD": 0}


async def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(env: Harness) -> None:
    a = await env.account(opening_balance="100")
    b = await env.account(name="Other")
    first = await env.transfer(a["id"], b["id"], "10", key="k-1")
    again = await env.transfer(a["id"], b["id"], "10", key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["data"] == first.json()["data"] and again.headers["Idempotent-Replayed"] == "true"
    assert await env.balance(a["id"]) == Decimal(90)
    other = await env.transfer(a["id"], b["id"], "11", key="k-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert other.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    assert (await env.transfer(a["id"], b["id"], "10", key="k-1", user=env.bob)).status_code == 404  # keys per user
    parallel = await asyncio.gather(*(env.transfer(a["id"], b["id"], "5", key="k-2") for _ in range(5)))
    assert {r.status_code for r in parallel} <= {201, 409}
    assert await env.balance(a["id"]) == Decimal(85)
    failed = await env.transfer(a["id"], b["id"], "1000", key="k-3")  # a refusal is not kept: a retry runs again
    assert failed.status_code == 422
    assert await env.svc.count(IdempotencyKey, IdempotencyKey.key == "k-3") == 0
    async with env.svc.db.sessions() as session:  # a key past its 24 hours is forgotten
        await session.execute(update(IdempotencyKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await session.commit()
    assert (await env.transfer(a["id"], b["id"], "10", key="k-1")).headers.get("Idempotent-Replayed") is None
    assert await env.balance(a["id"]) == Decimal(75)
    assert await env.svc.count(JournalEntry, JournalEntry.kind == "transfer") == 3


async def test_parallel_transfers_never_overdraw_a_wallet(env: Harness) -> None:
    """Thirty transfers of 10 fired at once out of a wallet holding 100 (overdraft 20): exactly twelve pass."""
    wallet = await env.account(opening_balance="100", overdraft_limit="20")
    targets = [await env.account(name=f"T{i}") for i in range(3)]
    responses = await asyncio.gather(
        *(env.transfer(wallet["id"], targets[i % 3]["id"], "10", key=str(uuid.uuid4())) for i in range(30))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 12 and codes.count(422) == 18, codes
    assert await env.balance(wallet["id"]) == Decimal(-20)
    assert sum([await env.balance(t["id"]) for t in targets], Decimal(0)) == Decimal(120)
    assert await env.ledger_sums() == {"USD": 0}


async def test_an_exchange_is_quoted_at_the_market_rate_then_executed_once(fx_env: Harness) -> None:
    env = fx_env
    usd = await env.account(opening_balance="1000")
    eur = await env.account(name="Euro wallet", currency="EUR")
    quoted = await env.post(
        "/api/v1/accounts/exchanges/quotes", {"from_account_id": usd["id"], "to_account_id": eur["id"], "amount": "200"}
    )
    assert quoted.status_code == 201, quoted.text
    quote = quoted.json()["data"]
    market = await env.svc.app.state.market.fx("USD", "EUR", datetime.now(UTC).date())
    rate = Decimal(str(market["rate"]))
    assert Decimal(quote["rate"]) == rate and Decimal(quote["fee"]) == Decimal("1.00")  # 0.5 %
    assert Decimal(quote["buy_amount"]) == quantize(Decimal(199) * rate, "EUR", ROUND_DOWN)
    assert await env.balance(usd["id"]) == Decimal(1000)  # a quote moves nothing
    done = await env.post("/api/v1/accounts/exchanges", {"quote_id": quote["id"]}, key="x-1")
    assert done.status_code == 201, done.text
    assert await env.balance(usd["id"]) == Decimal(800)
    assert await env.balance(eur["id"]) == Decimal(quote["buy_amount"])
    replay = await env.post("/api/v1/accounts/exchanges", {"quote_id": quote["id"]}, key="x-1")
    assert replay.json()["data"] == done.json()["data"] and replay.headers["Idempotent-Replayed"] == "true"
    twice = await env.post("/api/v1/accounts/exchanges", {"quote_id": quote["id"]}, key="x-2")
    assert twice.status_code == 422 and twice.json()["error"]["code"] == "QUOTE_USED"
    assert await env.ledger_sums() == {"USD": 0, "EUR": 0}
    [event] = await env.outbox("account.exchange_completed")
    assert Decimal(event["buy_amount"]) == Decimal(quote["buy_amount"]) and Decimal(event["fee"]) == 1

    late = (
        await env.post(
            "/api/v1/accounts/exchanges/quotes",
            {"from_account_id": usd["id"], "to_account_id": eur["id"], "amount": "10"},
        )
    ).json()["data"]
    async with env.svc.db.sessions() as session:
        await session.execute(
            update(FxQuote)
            .where(FxQuote.id == uuid.UUID(late["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    expired = await env.post("/api/v1/accounts/exchanges", {"quote_id": late["id"]})
    assert expired.status_code == 422 and expired.json()["error"]["code"] == "QUOTE_EXPIRED"
    assert (await env.post("/api/v1/accounts/exchanges", {"quote_id": late["id"]}, user=env.bob)).status_code == 404
    same = await env.post(
        "/api/v1/accounts/exchanges/quotes", {"from_account_id": usd["id"], "to_account_id": usd["id"], "amount": "10"}
    )
    assert same.status_code == 422 and same.json()["error"]["code"] == "SAME_CURRENCY"

    # net worth in EUR: the USD wallet at today's USD→EUR rate plus the EUR wallet, minus a card owed
    await env.account(name="Card", type="credit_card", currency="EUR", opening_balance="-50")
    worth = await env.get("/api/v1/accounts/net-worth", currency="EUR", params={"from": str(datetime.now(UTC).date())})
    assert worth.status_code == 200, worth.text
    data = worth.json()["data"]
    assets = quantize(Decimal(800) * rate + Decimal(quote["buy_amount"]), "EUR")
    assert Decimal(data["assets"]) == assets and Decimal(data["liabilities"]) == Decimal(50)
    assert Decimal(data["net_worth"]) == assets - 50
    assert data["history"][-1]["net_worth"] == data["net_worth"]


async def test_net_worth_history_and_its_bounds(env: Harness) -> None:
    await env.account(opening_balance="100")
    today = datetime.now(UTC).date()
    worth = (await env.get("/api/v1/accounts/net-worth", params={"from": str(today - timedelta(days=2))})).json()[
        "data"
    ]
    assert worth["currency"] == "USD" and worth["net_worth"] == "100.00"
    assert [p["net_worth"] for p in worth["history"]] == ["0.00", "0.00", "100.00"]
    future = await env.get("/api/v1/accounts/net-worth", to=str(today + timedelta(days=1)))
    assert future.status_code == 422 and future.json()["error"]["details"][0]["field"] == "to"
    too_long = await env.get("/api/v1/accounts/net-worth", params={"from": str(today - timedelta(days=400))})
    assert too_long.status_code == 422
    eur = await env.account(currency="EUR", opening_balance="5")
    down = await env.get("/api/v1/accounts/net-worth")  # a EUR balance needs market-data, which is down
    assert down.status_code == 503 and down.json()["error"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert eur["balance"] == "5.00"
