"""A running report service wired to real upstreams (expense, income) served on loopback ports, real
object storage (the stack's S3 server), and the moves tests make around them."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from pfms_devservers import free_port
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import served
from pfms_report.models import Report
from pfms_report.storage import ObjectStore

TERMINAL = {"completed", "failed", "expired"}
NOWHERE = f"http://127.0.0.1:{free_port()}"
"""An address nothing listens on: an upstream that is down."""


@dataclass
class Env:
    report: Running
    expense: Running
    income: Running
    keys: Any

    def user(self) -> tuple[uuid.UUID, dict[str, str]]:
        user_id = uuid.uuid4()
        return user_id, self.keys.auth(user_id)

    @property
    def store(self) -> ObjectStore:
        store: ObjectStore = self.report.app.state.store
        return store

    async def category(self, headers: dict[str, str], name: str) -> str:
        response = await self.expense.client.post("/api/v1/categories", json={"name": name}, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    async def spend(self, headers: dict[str, str], amount: str, day: str, category_id: str | None = None) -> None:
        body = {"amount": amount, "currency": "USD", "expense_date": day, "category_id": category_id}
        response = await self.expense.client.post("/api/v1/expenses", json=body, headers=headers)
        assert response.status_code == 201, response.text

    async def earn(self, headers: dict[str, str], amount: str, day: str) -> None:
        body = {"amount": amount, "currency": "USD", "date": day, "type": "salary"}
        response = await self.income.client.post("/api/v1/income/transactions", json=body, headers=headers)
        assert response.status_code == 201, response.text

    async def generate(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        response = await self.report.client.post("/api/v1/reports/generate", json=body, headers=headers)
        assert response.status_code == 202, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def finished(self, report_id: str, headers: dict[str, str], timeout: float = 30.0) -> dict[str, Any]:
        """Poll the report until the worker is done with it, as a client does."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            response = await self.report.client.get(f"/api/v1/reports/{report_id}", headers=headers)
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()["data"]
            if data["status"] in TERMINAL:
                return data
            assert asyncio.get_running_loop().time() < deadline, f"report still {data['status']}"
            await asyncio.sleep(0.05)

    async def download(self, report_id: str, headers: dict[str, str]) -> bytes:
        response = await self.report.client.get(f"/api/v1/reports/{report_id}/download", headers=headers)
        assert response.status_code == 200, response.text
        return response.content

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        return [event["data"] for event in await self.report.outbox(routing_key)]

    async def row(self, report_id: str | uuid.UUID) -> Report | None:
        async with self.report.db.sessions() as session:
            return await session.get(Report, uuid.UUID(str(report_id)))

    async def count(self) -> int:
        async with self.report.db.sessions() as session:
            return len((await session.scalars(select(Report.id))).all())


REPORT_SETTINGS: dict[str, Any] = {
    "poll_seconds": 0.05,
    "cleanup_seconds": 0.2,
    "retry_base_seconds": 0.0,
    "max_attempts": 2,
    "upstream_timeout_seconds": 5.0,
    "export_services": ["expense", "income", "report"],
}


@dataclass
class Bare:
    """The report service alone, its worker off: jobs stay pending (API rules only)."""

    svc: Running
    keys: Any

    @property
    def client(self) -> Any:
        return self.svc.client

    async def count(self) -> int:
        async with self.svc.db.sessions() as session:
            return len((await session.scalars(select(Report.id))).all())


@pytest.fixture
async def bare(make_service, jwt_keys) -> Bare:
    return Bare(await make_service("report", worker_enabled=False, max_open_per_user=4), jwt_keys)


@pytest.fixture
async def upstreams(make_service) -> AsyncIterator[tuple[Running, Running, dict[str, str]]]:
    """expense and income, each on a real loopback port for the report service's internal calls."""
    expense = await make_service("expense", scheduler_enabled=False, service_urls={"market-data": NOWHERE})
    income = await make_service("income")
    async with AsyncExitStack() as stack:
        urls = {
            "expense": await stack.enter_async_context(served(expense.app)),
            "income": await stack.enter_async_context(served(income.app)),
        }
        yield expense, income, urls


@pytest.fixture
async def env(make_service, jwt_keys, upstreams) -> AsyncIterator[Env]:
    expense, income, urls = upstreams
    report = await make_service("report", service_urls=dict(urls), **REPORT_SETTINGS)
    async with served(report.app) as own_url:
        # The data export includes the report service's own rows, read through its own export route.
        report.settings.service_urls["report"] = own_url
        yield Env(report, expense, income, jwt_keys)
