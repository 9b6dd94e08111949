"""Session-wide servers and per-test service instances wired to fresh resources."""

import asyncio
import importlib
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import func, select

from pfms_devservers import Stack
from pfms_platform.catalogue import service as service_info
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.migrations import upgrade
from pfms_platform.settings import ServiceSettings
from pfms_platform.testing.keys import TestKeys

READY_SECONDS = 60.0
"""How long a started service may take to reach the broker and subscribe before the test fails
(instead of waiting forever on a consumer that never becomes ready)."""


def _use_docker() -> bool:
    """PFMS_TEST_SERVERS=local|docker|auto (default auto: containers when a Docker engine answers)."""
    choice = os.environ.get("PFMS_TEST_SERVERS", "auto")
    if choice not in ("local", "docker", "auto"):
        raise ValueError(f"PFMS_TEST_SERVERS must be local, docker or auto, not {choice!r}")
    if choice == "auto":
        from pfms_devservers.containers import docker_available

        return docker_available()
    return choice == "docker"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """PostgreSQL, RabbitMQ, Redis and the MongoDB-wire server, started once for the whole run."""
    base = Path(tempfile.mkdtemp(prefix="pfms-test-", dir=os.environ.get("PFMS_TEST_TMP")))
    servers = Stack.create(base, fast=True, docker=_use_docker())
    servers.start()
    yield servers
    servers.stop()
    if not os.environ.get("PFMS_KEEP_TEST_SERVERS"):  # set it to read the servers' logs after a run
        shutil.rmtree(base, ignore_errors=True)  # a run leaves 60-300 MB of data files otherwise


@pytest.fixture(scope="session")
def jwt_keys() -> Iterator[TestKeys]:
    keys = TestKeys()
    keys.url = keys.serve()
    yield keys
    keys.close()


def service_dir(name: str) -> Path:
    module = importlib.import_module(service_info(name).package)
    assert module.__file__
    return Path(module.__file__).resolve().parents[2]


@dataclass
class Running:
    """A service app running its lifespan in-process, with a client and the resources it got."""

    name: str
    app: FastAPI
    client: httpx.AsyncClient
    settings: ServiceSettings
    vhost: str

    @property
    def db(self) -> Any:
        return self.app.state.db

    async def count(self, model: Any, *where: Any) -> int:
        """Rows of `model` (a mapped class or table) matching `where`, in the service's database."""
        async with self.db.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async def outbox(self, routing_key: str) -> list[dict[str, Any]]:
        """The CloudEvents the service wrote to its outbox for `routing_key`, oldest first."""
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(OutboxEvent).where(OutboxEvent.routing_key == routing_key).order_by(OutboxEvent.created_at)
            )
            return [row.payload for row in rows]


_redis_db = itertools.cycle(range(1, 64))
_templates: set[str] = set()


async def _admin(stack: Stack, sql: str) -> None:
    conn = await asyncpg.connect(stack.postgres.url(driver="postgresql"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(stack: Stack, name: str) -> str:
    """A database cloned from the service's migrated template (migrations run once per session)."""
    template = f"tmpl_{name.replace('-', '_')}"
    if template not in _templates:
        await _admin(stack, f'DROP DATABASE IF EXISTS "{template}"')
        await _admin(stack, f'CREATE DATABASE "{template}"')
        upgrade(service_dir(name), stack.postgres.url(template))
        _templates.add(template)
    db = f"t_{template[5:]}_{uuid.uuid4().hex[:10]}"
    await _admin(stack, f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    return db


def _state_per_request(app: FastAPI) -> Any:
    """Give each request its own shallow copy of the lifespan state, as uvicorn does.

    asgi-lifespan hands every request the same dict, so `request.state` set by one request (the
    verified token claims, for one) would leak into the next and hide cross-user bugs.
    """

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan" and "state" in scope:
            scope = {**scope, "state": dict(scope["state"])}
        await app(scope, receive, send)

    return wrapped


@pytest.fixture
async def make_service(stack: Stack, jwt_keys: TestKeys) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    """`await make_service("user", vhost=None, **settings)` → a Running service on fresh resources.

    Services started in one test share a vhost (so they exchange events) unless told otherwise.
    """
    shared_vhost = f"t{uuid.uuid4().hex[:12]}"
    stack.rabbitmq.add_vhost(shared_vhost)
    redis_index = next(_redis_db)
    redis = Redis.from_url(stack.redis.url(redis_index))
    await redis.flushdb()
    await redis.aclose()
    running: list[tuple[LifespanManager, Running]] = []
    databases: list[str] = []

    async def make(name: str, *, database: str | None = None, **overrides: Any) -> Running:
        info = service_info(name)
        settings_cls = importlib.import_module(f"{info.package}.settings").Settings
        create = importlib.import_module(f"{info.package}.main").create
        if info.store == "postgres" and database is None:
            database = await fresh_database(stack, name)
            databases.append(database)
        values: dict[str, Any] = {
            "environment": "test",
            "amqp_url": stack.rabbitmq.url(shared_vhost),
            "redis_url": stack.redis.url(redis_index),
            "jwks_url": jwt_keys.url,
        }
        if info.store == "postgres":
            values["database_url"] = stack.postgres.url(database or "")
        else:
            values["mongo_url"] = stack.mongo.url()
            values["mongo_database"] = f"t_{uuid.uuid4().hex[:10]}"
        values.update(stack.settings_for(settings_cls.model_fields))
        values.update(overrides)
        settings = settings_cls(**values)
        app = create(settings)
        manager = LifespanManager(_state_per_request(app), startup_timeout=30, shutdown_timeout=30)
        await manager.__aenter__()
        await asyncio.wait_for(app.state.bus.wait_connected(), READY_SECONDS)
        consumer = getattr(app.state, "consumer", None)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url=f"http://{name}")
        svc = Running(name, app, client, settings, shared_vhost)
        running.append((manager, svc))
        if consumer is not None:
            await asyncio.wait_for(consumer.ready.wait(), READY_SECONDS)
        return svc

    yield make
    for manager, svc in reversed(running):
        await svc.client.aclose()
        await manager.__aexit__(None, None, None)
    for db in databases:
        await _admin(stack, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    stack.rabbitmq.delete_vhost(shared_vhost)
