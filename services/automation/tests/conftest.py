"""Helpers shared by the automation service's integration tests."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pfms_platform.testing.fixtures import Running

UBER_RULE: dict[str, Any] = {
    "name": "Rides are transport",
    "trigger": {"event": "expense.created"},
    "conditions": {"all": [{"field": "description", "op": "contains", "value": "uber"}]},
    "actions": [{"type": "set_category", "category_name": "Transport"}, {"type": "add_tags", "tags": ["ride"]}],
}


def expense(user_id: uuid.UUID | None = None, **overrides: Any) -> dict[str, Any]:
    """The data of an expense.created event (user_id added when given)."""
    data: dict[str, Any] = {
        "expense_id": str(uuid.uuid4()),
        "amount": "23.50",
        "currency": "EUR",
        "expense_date": "2026-11-23",
        "description": "UBER *TRIP",
        "tags": [],
    }
    if user_id is not None:
        data["user_id"] = str(user_id)
    return {**data, **overrides}


@dataclass
class Env:
    svc: Running
    keys: Any

    def auth(self, user: uuid.UUID) -> dict[str, str]:
        headers: dict[str, str] = self.keys.auth(user)
        return headers

    async def rule(self, user: uuid.UUID, body: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        response = await self.svc.client.post(
            "/api/v1/automation/rules", json={**(body or UBER_RULE), **overrides}, headers=self.auth(user)
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()["data"]
        return created

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        return await self.svc.outbox(event_type)


@pytest.fixture
async def env(make_service: Callable[..., Awaitable[Running]], jwt_keys: Any) -> Env:
    return Env(await make_service("automation", scheduler_interval_seconds=0.2), jwt_keys)
