"""What the journey tests share: a person signing up through the gateway, and a tap on the bus."""

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import httpx

from pfms_local.fleet import Fleet, wait_for

PASSWORD = "correct horse battery staple 2026"


async def query(fleet: Fleet, service: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """Rows straight from a service's own database, to check what the API cannot show."""
    conn = await asyncpg.connect(fleet.stack.postgres.url(fleet.databases[service], driver="postgresql"))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@dataclass
class Person:
    """A registered, logged-in user as a client app holds them."""

    email: str
    password: str
    access_token: str
    refresh_token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def sign_up(gateway: httpx.AsyncClient, *, wait_profile: bool = True) -> Person:
    email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    registered = await gateway.post("/api/v1/auth/register", json=credentials)
    assert registered.status_code == 202, registered.text
    login = await gateway.post("/api/v1/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    data = login.json()["data"]
    claims = json.loads(_b64decode(data["access_token"].split(".")[1]))
    person = Person(email, PASSWORD, data["access_token"], data["refresh_token"], claims["sub"])
    if wait_profile:
        await profile_of(gateway, person)
    return person


async def profile_of(gateway: httpx.AsyncClient, person: Person, timeout: float = 20) -> dict[str, Any]:
    """The person's profile, once the user service has consumed `user.created`."""

    async def found() -> dict[str, Any] | None:
        response = await gateway.get("/api/v1/user/profile", headers=person.headers)
        return response.json()["data"] if response.status_code == 200 else None

    return await wait_for(found, timeout=timeout, message=f"profile of {person.email}")


async def verify_email(gateway: httpx.AsyncClient, fleet: Fleet, person: Person) -> None:
    """Prove the person's mailbox the way they would: a new link (its token taken from
    `auth.email_verification_requested` on the bus, as the mail carries it), opened; then wait until
    the user service has `user.email_verified` (only a verified invitee answers invitations)."""
    tap = await BusTap.open(fleet, "user.events", "auth.email_verification_requested")
    try:
        resent = await gateway.post("/api/v1/auth/verify-email/resend", headers=person.headers)
        assert resent.status_code == 202, resent.text
        mail = await tap.wait("auth.email_verification_requested", email=person.email)
    finally:
        await tap.close()
    opened = await gateway.post("/api/v1/auth/verify-email", json={"token": mail["data"]["token"]})
    assert opened.status_code == 200, opened.text
    sql = "SELECT email_verified FROM user_profiles WHERE user_id = $1"

    async def known() -> bool | None:
        rows = await query(fleet, "user", sql, uuid.UUID(person.user_id))
        return True if rows and rows[0]["email_verified"] else None

    await wait_for(known, timeout=20, message=f"user service knows {person.email} is verified")


def _b64decode(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class BusTap:
    """An exclusive queue bound to some routing keys: what a consumer of the fleet's events sees."""

    connection: aio_pika.abc.AbstractRobustConnection
    queue: aio_pika.abc.AbstractQueue
    seen: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(cls, fleet: Fleet, exchange: str, *keys: str) -> "BusTap":
        connection = await aio_pika.connect_robust(fleet.stack.rabbitmq.url(fleet.vhost))
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in keys:
            await queue.bind(exchange, routing_key=key)
        return cls(connection, queue)

    async def drain(self) -> list[dict[str, Any]]:
        while (message := await self.queue.get(fail=False)) is not None:
            await message.ack()
            self.seen.append(json.loads(message.body))
        return self.seen

    async def wait(self, event_type: str, timeout: float = 20, **data: Any) -> dict[str, Any]:
        """The first event of `event_type` whose data has the given values."""

        async def matching() -> dict[str, Any] | None:
            for event in await self.drain():
                if event["type"] == event_type and all(event["data"].get(k) == v for k, v in data.items()):
                    return event
            return None

        return await wait_for(matching, timeout=timeout, message=f"{event_type} {data}")

    async def close(self) -> None:
        await self.connection.close()


async def settle(seconds: float = 0.5) -> None:
    """Give the bus a moment to deliver anything that would (wrongly) arrive twice."""
    await asyncio.sleep(seconds)
