"""Fixtures for the loan service: a running service, two people, and moves tests make around it."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest

from pfms_loan import jobs
from pfms_platform.testing import Running

START = date(2026, 1, 15)


@dataclass
class Harness:
    """A loan service with the clock on `START`, plus two users' headers."""

    svc: Running
    keys: Any
    alice: uuid.UUID = field(default_factory=uuid.uuid4)
    bob: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.svc.client

    def auth(self, user: uuid.UUID | None = None) -> dict[str, str]:
        return dict(self.keys.auth(user or self.alice))

    def set_today(self, day: date) -> None:
        self.svc.settings.clock_date = day

    async def run_job(self, day: date) -> jobs.Tally:
        self.set_today(day)
        return await jobs.daily(self.svc.db, day, self.svc.settings.due_horizon_days)

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """Data of the events the service wrote for `routing_key`, oldest first."""
        return [event["data"] for event in await self.svc.outbox(routing_key)]

    async def post(self, path: str, body: Any, user: uuid.UUID | None = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.auth(user))

    async def get(self, path: str, user: uuid.UUID | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.auth(user))

    async def loan(self, user: uuid.UUID | None = None, **overrides: Any) -> dict[str, Any]:
        body = {
            "type": "lent",
            "principal_amount": "100000.00",
            "currency": "USD",
            "interest_rate": "12",
            "interest_type": "compound",
            "interest_calculation": "monthly",
            "start_date": START.isoformat(),
            "emi_enabled": True,
            "emi_frequency": "monthly",
            "total_installments": 12,
            **overrides,
        }
        response = await self.post("/api/v1/loans", body, user)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


@pytest.fixture
def make_env(make_service, jwt_keys) -> Callable[..., Awaitable[Harness]]:
    """`await make_env(**settings)`: a loan service with the clock on START and the job loop off."""

    async def make(**overrides: Any) -> Harness:
        values = {"clock_date": START, "jobs_enabled": False, "user_rate_limit_per_minute": 0, **overrides}
        return Harness(await make_service("loan", **values), jwt_keys)

    return make


@pytest.fixture
async def env(make_env) -> Harness:
    return await make_env()
