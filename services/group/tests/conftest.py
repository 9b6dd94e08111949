"""Fixtures for the group service: the service on real servers, market-data and the user service
served on loopback ports (the group service reaches them over HTTP, as in production), and people."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pfms_contracts import EventData
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, served, until


@dataclass
class Person:
    user_id: uuid.UUID
    headers: dict[str, str]


@dataclass
class Harness:
    svc: Running
    keys: Any

    @property
    def client(self) -> Any:
        return self.svc.client

    def person(self) -> Person:
        user_id = uuid.uuid4()
        return Person(user_id, self.keys.auth(user_id))

    async def publish(self, data: EventData) -> None:
        await publish_event(self.svc.settings.amqp_url, data, source="auth")

    until = staticmethod(until)

    async def count(self, model: Any, *where: Any) -> int:
        return await self.svc.count(model, *where)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """Data of the events the service wrote for `routing_key`, oldest first."""
        return [event["data"] for event in await self.svc.outbox(routing_key)]

    async def group(self, owner: Person, *members: Person, **fields: Any) -> str:
        """A group of `owner` (admin) with `members` invited and accepted; returns its id."""
        body = {"name": "Trip", "currency": "USD", "group_type": "trip", **fields}
        created = await self.client.post("/api/v1/groups", json=body, headers=owner.headers)
        assert created.status_code == 201, created.text
        group_id = str(created.json()["data"]["id"])
        for m in members:
            await self.join(group_id, owner, m)
        return group_id

    async def join(self, group_id: str, inviter: Person, person: Person, role: str = "member") -> None:
        invited = await self.client.post(
            f"/api/v1/groups/{group_id}/members",
            json={"user_id": str(person.user_id), "role": role},
            headers=inviter.headers,
        )
        assert invited.status_code == 201, invited.text
        accepted = await self.client.post(f"/api/v1/groups/{group_id}/invitations/accept", headers=person.headers)
        assert accepted.status_code == 200, accepted.text

    async def expense(self, group_id: str, who: Person, **body: Any) -> dict[str, Any]:
        body = {"description": "Dinner", "expense_date": "2026-11-20", **body}
        response = await self.client.post(f"/api/v1/groups/{group_id}/expenses", json=body, headers=who.headers)
        assert response.status_code == 201, response.text
        return dict(response.json()["data"])

    async def balances(self, group_id: str, who: Person) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/groups/{group_id}/balances", headers=who.headers)
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    async def nets(self, group_id: str, who: Person) -> dict[uuid.UUID, str]:
        data = await self.balances(group_id, who)
        return {uuid.UUID(m["user_id"]): m["net"] for m in data["members"]}


@pytest.fixture
def start(make_service, jwt_keys) -> Callable[..., Awaitable[Harness]]:
    """`await start(**settings)`: a group service (scheduler off; tests run its passes themselves)."""

    async def started(**overrides: Any) -> Harness:
        return Harness(await make_service("group", **{"scheduler_enabled": False, **overrides}), jwt_keys)

    return started


@pytest.fixture
async def env(start) -> Harness:
    return await start()


@pytest.fixture
async def fleet(make_service, jwt_keys) -> AsyncIterator[tuple[Harness, Running, Running]]:
    """The group service with market-data and the user service reachable over loopback HTTP."""
    market = await make_service("market-data")
    users = await make_service("user")
    async with served(market.app) as market_url, served(users.app) as users_url:
        svc = await make_service(
            "group", scheduler_enabled=False, service_urls={"market-data": market_url, "user": users_url}
        )
        yield Harness(svc, jwt_keys), market, users
