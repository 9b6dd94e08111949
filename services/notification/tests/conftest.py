"""Fixtures: a running notification service wired to the stack's SMTP catcher, and local HTTP receivers."""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import func, select

from pfms_contracts import CloudEvent, EventData
from pfms_contracts.identity import UserCreated, UserUpdated
from pfms_devservers import Stack
from pfms_notification.models import Notification
from pfms_platform.security import mint_service_token
from pfms_platform.testing import Running
from pfms_platform.testing.helpers import publish_event, served, until


@dataclass
class Receiver:
    """A local HTTP server standing in for FCM, the SMS gateway or a webhook receiver."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    """Status codes to answer, in order; 200 once they run out."""


@dataclass
class Harness:
    svc: Running
    keys: Any
    stack: Stack

    until = staticmethod(until)

    async def publish(self, data: EventData, *, source: str = "test") -> CloudEvent:
        return await publish_event(self.svc.settings.amqp_url, data, source=source)

    async def person(self, *, email: str | None = None, switches: list[dict[str, Any]] | None = None) -> uuid.UUID:
        """Someone the user service announced (address, then any switches flipped); waits until known."""
        user = uuid.uuid4()
        await self.publish(
            UserCreated(user_id=user, email=email or f"p-{user.hex[:8]}@example.com", created_at=datetime.now(UTC))
        )
        if switches:
            await self.publish(UserUpdated(user_id=user, section="notifications", changes={"preferences": switches}))
        await self.until(lambda: self.known(user, len(switches or [])))
        return user

    async def known(self, user: uuid.UUID, switches: int) -> bool:
        from pfms_notification.models import ChannelPreference, Recipient

        async with self.svc.db.sessions() as session:
            found = await session.get(Recipient, user)
            n = await session.scalar(select(func.count()).where(ChannelPreference.user_id == user))
        return found is not None and n == switches

    async def notifications(self, user: uuid.UUID) -> list[Notification]:
        async with self.svc.db.sessions() as session:
            return list((await session.scalars(select(Notification).where(Notification.user_id == user))).all())

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        return await self.svc.outbox(routing_key)

    def service_headers(self) -> dict[str, str]:
        token = mint_service_token(self.svc.settings.service_token_secret, "automation")
        return {"Authorization": f"Bearer {token}"}

    def mails_to(self, address: str) -> list[Any]:
        return [m for m in self.stack.smtp.messages() if m["To"] == address]


FAST = {
    "dispatch_interval_seconds": 0.1,
    "delivery_retry_base_seconds": 0.05,
    "delivery_max_attempts": 3,
    "webhook_retry_base_seconds": 0.05,
    "webhook_max_attempts": 3,
    "webhook_allow_loopback_http": True,
}


@pytest.fixture
async def start(make_service: Any, jwt_keys: Any, stack: Stack) -> Callable[..., Any]:
    async def make(**overrides: Any) -> Harness:
        values = {**FAST, "smtp_host": stack.smtp.host, "smtp_port": stack.smtp.port, **overrides}
        return Harness(await make_service("notification", **values), jwt_keys, stack)

    return make


@pytest.fixture
async def env(start: Callable[..., Any]) -> Harness:
    harness: Harness = await start()
    return harness


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = FastAPI()
    box = Receiver(url="")

    @app.post("/{path:path}")
    async def record(path: str, request: Request) -> Response:
        body = await request.body()
        box.requests.append({"path": "/" + path, "headers": dict(request.headers), "body": body})
        status = box.answers.pop(0) if box.answers else 200
        return Response(status_code=status, content=b'{"name": "ok"}', media_type="application/json")

    async with served(app) as url:
        box.url = url
        yield box
