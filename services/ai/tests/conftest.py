"""Fixtures for the ai service: a running service and a harness that feeds it real events."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.expense import ExpenseCreated
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, until


@dataclass
class Harness:
    svc: Running
    keys: Any

    @property
    def client(self) -> Any:
        return self.svc.client

    @property
    def db(self) -> Any:
        return self.svc.app.state.store.db

    def auth(self, user: uuid.UUID) -> dict[str, str]:
        return dict(self.keys.auth(user))

    async def publish(self, data: EventData, *, event: CloudEvent | None = None) -> CloudEvent:
        return await publish_event(self.svc.settings.amqp_url, data, source="test", event=event)

    async def documents(self, collection: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        return list(await self.db[collection].find(query).to_list(None))

    async def wait_count(self, collection: str, query: dict[str, Any], n: int, timeout: float = 15) -> None:
        async def enough() -> bool:
            return bool(await self.db[collection].count_documents(query) >= n)

        await until(enough, timeout=timeout)

    async def feed(self, events: list[ExpenseCreated]) -> None:
        """Publish expenses and wait until the read model holds them all."""
        for data in events:
            await self.publish(data)
        ids = [str(e.expense_id) for e in events]
        await self.wait_count("expenses", {"_id": {"$in": ids}}, len(ids), timeout=30)


def expense(
    user_id: uuid.UUID,
    description: str,
    amount: str | Decimal,
    day: date,
    *,
    category: str | None = None,
    currency: str = "USD",
    expense_id: uuid.UUID | None = None,
) -> ExpenseCreated:
    return ExpenseCreated(
        user_id=user_id,
        expense_id=expense_id or uuid.uuid4(),
        amount=Decimal(amount),
        currency=currency,
        category_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{user_id}:{category}") if category else None,
        category_name=category,
        expense_date=day,
        description=description,
    )


@pytest.fixture
def build_expense() -> Callable[..., ExpenseCreated]:
    return expense


@pytest.fixture
async def env(make_service: Callable[..., Awaitable[Running]], jwt_keys: Any) -> Harness:
    return Harness(await make_service("ai"), jwt_keys)


@pytest.fixture
def make_env(make_service: Callable[..., Awaitable[Running]], jwt_keys: Any) -> Callable[..., Awaitable[Harness]]:
    """`await make_env(**settings)`: a harness around an ai service with its own settings."""

    async def make(**overrides: Any) -> Harness:
        return Harness(await make_service("ai", **overrides), jwt_keys)

    return make
