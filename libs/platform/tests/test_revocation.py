"""A deleted account's still-unexpired access token is refused as soon as the service hears `user.deleted`."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pfms_contracts.identity import UserDeleted
from pfms_devservers import Stack
from pfms_platform.app import create_app
from pfms_platform.db import Base
from pfms_platform.envelope import ok
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.revocation import KEY, DeletedUsers
from pfms_platform.security import CurrentUser
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.helpers import publish_event, until
from pfms_platform.testing.keys import TestKeys

pytestmark = pytest.mark.integration

REDIS_DB = 59


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.redis.url(REDIS_DB), decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_a_replica_learns_the_deleted_user_from_redis(redis: Redis) -> None:
    first, second = DeletedUsers(redis), DeletedUsers(redis)
    gone, kept = uuid.uuid4(), uuid.uuid4()
    await first.add(gone)
    assert gone in first and str(gone).upper() in first
    assert gone not in second
    await second.sync()
    assert gone in second and kept not in second
    assert "not-a-uuid" not in second


async def test_an_entry_is_forgotten_after_its_tokens_expired(redis: Redis) -> None:
    deleted = DeletedUsers(redis, forget_after_seconds=1)
    user = uuid.uuid4()
    await deleted.add(user)
    assert user in deleted
    await asyncio.sleep(1.1)
    assert user not in deleted
    await deleted.sync()
    assert await redis.zcard(KEY) == 0


async def test_redis_away_keeps_the_entry_and_saves_it_on_the_next_sync(redis: Redis) -> None:
    away = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    deleted = DeletedUsers(away)
    user = uuid.uuid4()
    await deleted.add(user)  # logs, does not raise
    assert user in deleted
    deleted.redis = redis
    await deleted.sync()
    assert user in deleted
    other = DeletedUsers(redis)
    await other.sync()
    assert user in other
    await away.aclose()


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/api/v1/probe/me")
    async def me(user: CurrentUser) -> dict[str, object]:
        return ok({"user_id": str(user)})

    return router


async def _purge(session: AsyncSession, data: UserDeleted) -> None:
    """The service's own `user.deleted` handler (purging rows); the refusal needs nothing from it."""


@pytest.fixture
async def replicas(stack: Stack, jwt_keys: TestKeys) -> AsyncIterator[list[FastAPI]]:
    """Two replicas of a service consuming `user.deleted` from one queue, on one database and Redis."""
    name = f"probe_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=[OutboxEvent.__table__, InboxEvent.__table__])
    await engine.dispose()
    stack.rabbitmq.add_vhost(name)
    settings = ServiceSettings(
        service_name="probe",
        environment="test",
        database_url=url,
        amqp_url=stack.rabbitmq.url(name),
        redis_url=stack.redis.url(REDIS_DB),
        jwks_url=jwt_keys.url,
    )
    redis = Redis.from_url(settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    apps = [create_app(settings, title="probe", routers=[_router()], handlers={"user.deleted": _purge}) for _ in "ab"]
    async with LifespanManager(apps[0]), LifespanManager(apps[1]):
        for app in apps:
            await asyncio.wait_for(app.state.consumer.ready.wait(), 60)
        yield apps
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


async def test_every_replica_refuses_a_deleted_users_token(replicas: list[FastAPI], jwt_keys: TestKeys) -> None:
    gone, kept = uuid.uuid4(), uuid.uuid4()
    headers = {user: jwt_keys.auth(user) for user in (gone, kept)}  # the same tokens before and after
    clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") for app in replicas]
    try:
        for client in clients:  # both tokens work, and are now in each replica's verified-token cache
            for user in (gone, kept):
                assert (await client.get("/api/v1/probe/me", headers=headers[user])).status_code == 200
        event = UserDeleted(user_id=gone, deleted_at=datetime.now(UTC))
        await publish_event(replicas[0].state.settings.amqp_url, event, source="auth")

        async def refused_everywhere() -> bool:
            answers = [await c.get("/api/v1/probe/me", headers=headers[gone]) for c in clients]
            return all(a.status_code == 401 for a in answers)

        await until(refused_everywhere, timeout=15)
        refused = await clients[1].get("/api/v1/probe/me", headers=headers[gone])
        assert refused.json()["error"]["code"] == "UNAUTHORIZED"
        assert refused.json()["error"]["message"] == "Account deleted"
        for client in clients:
            assert (await client.get("/api/v1/probe/me", headers=headers[kept])).status_code == 200
    finally:
        for client in clients:
            await client.aclose()
