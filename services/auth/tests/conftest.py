"""Fixtures for the auth service: a running service and people who registered through its API."""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from sqlalchemy import func, select

from pfms_auth.models import User
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.testing import Running

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"


@dataclass
class Person:
    email: str
    password: str
    user_id: uuid.UUID
    access_token: str = ""
    refresh_token: str = ""
    session_id: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class Harness:
    """A running auth service plus the moves tests make around it: register, sign in, look inside."""

    svc: Running

    @property
    def client(self) -> httpx.AsyncClient:
        return self.svc.client

    async def register(self, email: str | None = None, password: str = PASSWORD) -> Person:
        email = email or f"p{uuid.uuid4().hex[:10]}@example.com"
        response = await self.client.post("/api/v1/auth/register", json={"email": email, "password": password})
        assert response.status_code == 202, response.text
        user_id = await self.user_id(email)
        assert user_id is not None
        return Person(email.lower(), password, user_id)

    async def login(self, person: Person, **headers: str) -> Person:
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": person.email, "password": person.password}, headers=headers
        )
        assert response.status_code == 200, response.text
        self.take_tokens(person, response.json()["data"])
        return person

    async def signed_in(self, email: str | None = None) -> Person:
        return await self.login(await self.register(email))

    @staticmethod
    def take_tokens(person: Person, data: dict[str, Any]) -> None:
        person.access_token = data["access_token"]
        person.refresh_token = data["refresh_token"]
        person.session_id = data["session_id"]

    async def user_id(self, email: str) -> uuid.UUID | None:
        async with self.svc.db.sessions() as db:
            return await db.scalar(select(User.id).where(User.email == email.lower()))

    async def scalar(self, query: Any) -> Any:
        async with self.svc.db.sessions() as db:
            return await db.scalar(query)

    async def count(self, model: Any, *where: Any) -> int:
        return int(await self.scalar(select(func.count()).select_from(model).where(*where)))

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """CloudEvents written to the outbox, oldest first."""
        query = select(OutboxEvent).order_by(OutboxEvent.created_at)
        if event_type:
            query = query.where(OutboxEvent.routing_key == event_type)
        async with self.svc.db.sessions() as db:
            return [row.payload for row in await db.scalars(query)]

    async def latest_token(self, event_type: str, email: str) -> str:
        """The token a mail would carry: taken from the newest matching event in the outbox."""
        matching = [e for e in await self.events(event_type) if e["data"]["email"] == email]
        assert matching, f"no {event_type} for {email}"
        return str(matching[-1]["data"]["token"])


def totp_at(secret: str, offset_steps: int = 0) -> str:
    """A code for the step `offset_steps` away from now, clear of a step boundary (no flaky rollover)."""
    if time.time() % 30 > 28:
        time.sleep(2.1)
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


@pytest.fixture
async def auth(make_service: Any) -> Harness:
    return Harness(await make_service("auth"))
