"""Fixtures: the investment service on real servers, and a market-data stand-in on a loopback port.

The stand-in serves market-data's fixed internal interface (`/internal/v1/market/quotes|history|fx`,
service token checked, fleet envelope) from data a test sets, and can be switched off to play an
outage; the real pair runs together in tests-e2e.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import aio_pika
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.market import PriceUpdated
from pfms_devservers import free_port
from pfms_platform.security import verify_service_token
from pfms_platform.settings import DEV_SERVICE_TOKEN_SECRET
from pfms_platform.testing import Running


@dataclass
class Market:
    """What the stand-in answers: quotes by symbol, FX by (base, quote), daily closes by symbol."""

    url: str = ""
    down: bool = False
    quotes: dict[str, tuple[str, str]] = field(default_factory=dict)
    rates: dict[tuple[str, str], list[tuple[date, str]]] = field(default_factory=dict)
    closes: dict[str, list[tuple[date, str]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": {"code": code, "message": message, "details": []}}, status)


def stand_in(market: Market) -> Starlette:
    def guard(request: Request) -> JSONResponse | None:
        verify_service_token(DEV_SERVICE_TOKEN_SECRET, request.headers["authorization"].split()[1])
        market.calls.append(f"{request.url.path}?{request.url.query}")
        return _error(503, "UNAVAILABLE", "No provider answered") if market.down else None

    async def quote(request: Request) -> JSONResponse:
        if (refused := guard(request)) is not None:
            return refused
        symbol = request.path_params["symbol"]
        if symbol not in market.quotes:
            return _error(404, "NOT_FOUND", f"Unknown symbol {symbol}")
        price, currency = market.quotes[symbol]
        data = {
            "symbol": symbol,
            "asset_class": request.query_params["asset_class"],
            "price": price,
            "currency": currency,
            "as_of": datetime.now(UTC).isoformat(),
            "source": "stand-in",
            "age_seconds": 0,
        }
        return JSONResponse({"success": True, "data": data})

    async def history(request: Request) -> JSONResponse:
        if (refused := guard(request)) is not None:
            return refused
        q = request.query_params
        start, end = date.fromisoformat(q["from"]), date.fromisoformat(q["to"])
        closes = market.closes.get(request.path_params["symbol"], [])
        data = [{"date": d.isoformat(), "close": c, "currency": "USD"} for d, c in closes if start <= d <= end]
        return JSONResponse({"success": True, "data": data})

    async def fx(request: Request) -> JSONResponse:
        if (refused := guard(request)) is not None:
            return refused
        q = request.query_params
        on = date.fromisoformat(q["date"])
        series = [(d, r) for d, r in market.rates.get((q["base"], q["quote"]), []) if d <= on]
        if not series:
            return _error(404, "NOT_FOUND", "No rate")
        day, rate = series[-1]
        data = {"base": q["base"], "quote": q["quote"], "date": day.isoformat(), "rate": rate, "source": "stand-in"}
        return JSONResponse({"success": True, "data": data})

    return Starlette(
        routes=[
            Route("/internal/v1/market/quotes/{symbol}", quote),
            Route("/internal/v1/market/history/{symbol}", history),
            Route("/internal/v1/market/fx", fx),
        ]
    )


@pytest.fixture
async def market() -> AsyncIterator[Market]:
    state = Market()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(stand_in(state), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    state.url = f"http://127.0.0.1:{port}"
    yield state
    server.should_exit = True
    await task


@dataclass
class Person:
    user_id: uuid.UUID
    headers: dict[str, str]


@dataclass
class Harness:
    svc: Running
    keys: Any
    market: Market

    @property
    def client(self) -> Any:
        return self.svc.client

    def person(self) -> Person:
        user = uuid.uuid4()
        return Person(user, self.keys.auth(user))

    async def publish(self, data: EventData) -> CloudEvent:
        """Publish on the broker the way another service's relay does."""
        event = CloudEvent.wrap("market-data", data)
        connection = await aio_pika.connect(self.svc.settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(data.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
            await exchange.publish(
                aio_pika.Message(event.model_dump_json().encode(), message_id=event.id, type=event.type),
                routing_key=event.type,
            )
        return event

    async def price(self, symbol: str, price: str, *, asset_class: str = "stock", currency: str = "USD") -> None:
        await self.publish(
            PriceUpdated(
                symbol=symbol,
                asset_class=asset_class,
                price=Decimal(price),
                currency=currency,
                as_of=datetime.now(UTC),
                source="test",
            )
        )

    @staticmethod
    async def until(check: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
            await asyncio.sleep(0.05)

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """`data` of the events the service wrote for `routing_key`, oldest first."""
        return [event["data"] for event in await self.svc.outbox(routing_key)]

    async def post(self, path: str, body: Any, who: Person, status: int = 201) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=who.headers)
        assert response.status_code == status, response.text
        return response.json().get("data") if response.content else {}

    async def portfolio(self, who: Person, **fields: Any) -> dict[str, Any]:
        return await self.post("/api/v1/portfolios", {"name": f"p-{uuid.uuid4().hex[:6]}", **fields}, who)

    async def asset(self, who: Person, portfolio_id: str, symbol: str, **fields: Any) -> dict[str, Any]:
        body = {"asset_type": "stock", "symbol": symbol, **fields}
        return await self.post(f"/api/v1/portfolios/{portfolio_id}/assets", body, who)

    async def trade(
        self, who: Person, portfolio_id: str, asset_id: str, kind: str, day: str, status: int = 201, **fields: Any
    ) -> Any:
        body = {"asset_id": asset_id, "transaction_type": kind, "date": day, **fields}
        path = f"/api/v1/portfolios/{portfolio_id}/transactions"
        response = await self.client.post(path, json=body, headers=who.headers)
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
async def env(make_service, jwt_keys, market) -> Harness:
    svc = await make_service(
        "investment", service_urls={"market-data": market.url}, snapshot_enabled=False, market_attempts=1
    )
    return Harness(svc, jwt_keys, market)
