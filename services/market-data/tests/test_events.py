"""Tracked symbols from investment's events, the refresh scheduler, price.updated through the outbox, and SSE."""

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from pfms_contracts.identity import UserDeleted
from pfms_contracts.investment import SymbolsChanged, TrackedSymbol
from pfms_devservers import free_port
from pfms_market_data.models import RefreshItem
from pfms_market_data.models import TrackedSymbol as TrackedRow
from pfms_market_data.scheduler import refresh_due
from pfms_platform.events.tables import OutboxEvent

pytestmark = pytest.mark.integration


def changed(user: uuid.UUID, action: str, *pairs: tuple[str, str]) -> SymbolsChanged:
    return SymbolsChanged(
        user_id=user, action=action, symbols=[TrackedSymbol(symbol=s, asset_class=c) for s, c in pairs]
    )


async def count(svc, model, *where) -> int:
    async with svc.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def outbox(svc, routing_key: str) -> list[dict]:
    async with svc.db.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent).where(OutboxEvent.routing_key == routing_key).order_by(OutboxEvent.created_at)
        )
        return [row.payload for row in rows]


async def refresh(svc) -> int:
    return await refresh_due(svc.db.sessions, svc.app.state.market, interval=3600, batch=50)


async def test_watch_unwatch_and_user_deleted_keep_the_tracked_set(make_service, tools, user) -> None:
    svc = await make_service("market-data", refresh_interval_seconds=3600)
    other = uuid.uuid4()
    url = svc.settings.amqp_url
    await tools.publish(url, changed(user, "watch", ("AAPL", "stock"), ("BTC", "crypto"), ("GLD", "bond")))
    await tools.publish(url, changed(other, "watch", ("AAPL", "stock")))
    await tools.until(lambda: _is(count(svc, TrackedRow), 3))
    assert await count(svc, RefreshItem) == 2, "one queue row per symbol; classes without a provider are ignored"
    again = changed(user, "watch", ("AAPL", "stock"))
    await tools.publish(url, again)
    await tools.publish(url, changed(user, "unwatch", ("BTC", "crypto")))
    await tools.until(lambda: _is(count(svc, RefreshItem), 1))
    assert await count(svc, TrackedRow) == 2
    await tools.publish(url, UserDeleted(user_id=other, deleted_at=datetime.now(UTC)), source="auth")
    await tools.until(lambda: _is(count(svc, TrackedRow, TrackedRow.user_id == other), 0))
    assert await count(svc, RefreshItem) == 1, "AAPL is still watched by the first user"
    await tools.publish(url, UserDeleted(user_id=user, deleted_at=datetime.now(UTC)), source="auth")
    await tools.until(lambda: _is(count(svc, RefreshItem), 0))
    assert await count(svc, TrackedRow) == 0


async def _is(value, expected) -> bool:
    return await value == expected


async def test_scheduler_publishes_price_updated_once_per_change(make_service, tools, user) -> None:
    svc = await make_service("market-data", refresh_interval_seconds=3600)
    await tools.publish(svc.settings.amqp_url, changed(user, "watch", ("AAPL", "stock"), ("EUR-USD", "forex")))
    await tools.until(lambda: _is(count(svc, RefreshItem), 2))
    # two replicas refreshing at once: SKIP LOCKED hands each symbol to one of them
    assert sum(await asyncio.gather(refresh(svc), refresh(svc))) == 2
    events = await outbox(svc, "price.updated")
    assert sorted(e["data"]["symbol"] for e in events) == ["AAPL", "EUR-USD"]
    aapl = next(e["data"] for e in events if e["data"]["symbol"] == "AAPL")
    assert aapl["price"] == "223.02" and aapl["source"] == "offline:historical-closes" and aapl["user_id"] is None
    assert aapl["change_percent"] is None, "no earlier price to compare with"
    async with svc.db.sessions() as session, session.begin():
        for item in (await session.scalars(select(RefreshItem))).all():
            item.next_at = datetime.now(UTC)
    assert await refresh(svc) == 0, "an unchanged price is not published again"
    assert len(await outbox(svc, "price.updated")) == 2


async def test_unknown_tracked_symbol_is_skipped_not_fatal(make_service, tools, user) -> None:
    svc = await make_service("market-data", refresh_interval_seconds=3600)
    await tools.publish(svc.settings.amqp_url, changed(user, "watch", ("ZZZZ", "stock"), ("IBM", "stock")))
    await tools.until(lambda: _is(count(svc, RefreshItem), 2))
    assert await refresh(svc) == 1
    assert [e["data"]["symbol"] for e in await outbox(svc, "price.updated")] == ["IBM"]


async def test_sse_streams_price_updates_for_the_subscribed_symbols(make_service, tools, jwt_keys, user) -> None:
    svc = await make_service("market-data", refresh_interval_seconds=3600)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(svc.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        await asyncio.wait_for(svc.app.state.broadcaster.listening.wait(), 10)
        await tools.publish(svc.settings.amqp_url, changed(user, "watch", ("MSFT", "stock"), ("GOOG", "stock")))
        await tools.until(lambda: _is(count(svc, RefreshItem), 2))
        url = f"http://127.0.0.1:{port}/api/v1/market/stream?symbols=msft"
        async with httpx.AsyncClient(timeout=15) as client, client.stream("GET", url, headers=jwt_keys.auth(user)) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            lines = r.aiter_lines()
            assert (await anext(lines)).startswith(": subscribed to MSFT")
            assert await refresh(svc) == 2
            event = data = None
            async with asyncio.timeout(15):
                async for line in lines:
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data = json.loads(line.removeprefix("data: "))
                        break
        assert event == "price.updated" and data is not None
        assert data["symbol"] == "MSFT" and data["price"] and data["source"] == "offline:historical-closes"
        bad = await svc.client.get("/api/v1/market/stream?symbols=A;B", headers=jwt_keys.auth(user))
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "symbols"
    finally:
        server.should_exit = True
        await serving
