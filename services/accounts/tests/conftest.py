"""Fixtures for the accounts service: a running service (with market-data over loopback when a test needs
rates), two people, and helpers to open accounts and move money."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from pfms_accounts.models import Posting
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import served

NO_MARKET = {"market-data": "http://127.0.0.1:9"}
"""Where no market-data answers (connection refused)."""


@dataclass
class Harness:
    svc: Running
    keys: Any
    alice: uuid.UUID = field(default_factory=uuid.uuid4)
    bob: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.svc.client

    def auth(self, user: uuid.UUID | None = None, key: str | None = None) -> dict[str, str]:
        headers = dict(self.keys.auth(user or self.alice))
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def post(self, path: str, body: Any, user: uuid.UUID | None = None, key: str | None = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.auth(user, key))

    async def patch(self, path: str, body: Any, user: uuid.UUID | None = None) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=self.auth(user))

    async def get(
        self, path: str, user: uuid.UUID | None = None, params: dict[str, str] | None = None, **more: Any
    ) -> httpx.Response:
        return await self.client.get(path, params={**(params or {}), **more}, headers=self.auth(user))

    async def delete(self, path: str, user: uuid.UUID | None = None) -> httpx.Response:
        return await self.client.delete(path, headers=self.auth(user))

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        return [event["data"] for event in await self.svc.outbox(routing_key)]

    async def account(self, user: uuid.UUID | None = None, **overrides: Any) -> dict[str, Any]:
        body = {"name": "Wallet", "type": "wallet", "currency": "USD", **overrides}
        response = await self.post("/api/v1/accounts", body, user)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def balance(self, account_id: str, user: uuid.UUID | None = None) -> Decimal:
        response = await self.get(f"/api/v1/accounts/{account_id}", user)
        assert response.status_code == 200, response.text
        return Decimal(response.json()["data"]["balance"])

    async def transfer(self, source: str, target: str, amount: str, **kw: Any) -> httpx.Response:
        body = {"from_account_id": source, "to_account_id": target, "amount": amount}
        return await self.post("/api/v1/accounts/transfers", body, **kw)

    async def ledger_sums(self) -> dict[str, Decimal]:
        """Sum of every posting per currency (all users): zero in each, always."""
        async with self.svc.db.sessions() as session:
            rows = await session.execute(select(Posting.currency, func.sum(Posting.amount)).group_by(Posting.currency))
            return {c: Decimal(s) for c, s in rows}


@pytest.fixture
async def env(make_service, jwt_keys) -> Harness:
    return Harness(await make_service("accounts", service_urls=NO_MARKET, internal_attempts=1), jwt_keys)


@pytest.fixture
async def fx_env(make_service, jwt_keys) -> AsyncIterator[Harness]:
    """The accounts service with the real market-data (offline ECB reference rates) over loopback HTTP."""
    market = await make_service("market-data")
    async with served(market.app) as url:
        yield Harness(await make_service("accounts", service_urls={"market-data": url}), jwt_keys)
