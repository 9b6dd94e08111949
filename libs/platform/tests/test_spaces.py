"""Spaces in a service: the role matrix, the scope's clauses, the snapshot version rule and X-Space-ID."""

import asyncio
import sys
import types
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, FastAPI, status
from sqlalchemy import Column, MetaData, String, Table, Uuid, delete, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from pfms_contracts.identity import UserDeleted
from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_devservers import Stack
from pfms_platform.app import create_app
from pfms_platform.db import Base, Session, service_metadata
from pfms_platform.envelope import ok
from pfms_platform.errors import Forbidden, Invalid
from pfms_platform.events.tables import InboxEvent, OutboxEvent
from pfms_platform.settings import ServiceSettings
from pfms_platform.spaces import (
    ALLOWED,
    CurrentScope,
    Scope,
    SpaceMembership,
    SpaceVersion,
    allows,
    apply_snapshot,
    forget_member,
    parse_space_id,
    role_in,
    space_handlers,
    space_of,
)
from pfms_platform.testing.fixtures import _admin
from pfms_platform.testing.helpers import publish_event, until
from pfms_platform.testing.keys import TestKeys

ME, OTHER, SPACE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NOTES = Table(
    "notes",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("space_id", Uuid),
    Column("body", String, nullable=False),
)


def sql(clause: Any) -> str:
    return str(clause.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("viewer", {"read"}),
        ("member", {"read", "write"}),
        ("admin", {"read", "write", "manage"}),
        ("owner", {"read", "write", "manage"}),
        ("stranger", set()),
    ],
)
def test_the_role_matrix(role: str, may: set[str]) -> None:
    scope = Scope(ME, SPACE, role)
    for action in ("read", "write", "manage"):
        assert allows(role, action) is (action in may)
        if action in may:
            assert scope.require(action) is scope
        else:
            with pytest.raises(Forbidden) as refused:
                scope.require(action)
            assert refused.value.status_code == 403 and role in refused.value.message
    assert set(ALLOWED) == {"viewer", "member", "admin", "owner"}


def test_the_scope_picks_rows_and_stamps_new_ones() -> None:
    personal, shared = Scope(ME, None, "owner"), Scope(ME, SPACE, "member")
    assert personal.personal and not shared.personal
    assert sql(personal.owns(NOTES.c)) == f"notes.user_id = '{ME}' AND notes.space_id IS NULL"
    assert sql(shared.owns(NOTES.c)) == f"notes.space_id = '{SPACE}'", "any member's rows, not only mine"
    assert personal.owner_values() == {"user_id": ME, "space_id": None}
    assert shared.owner_values() == {"user_id": ME, "space_id": SPACE}


def test_the_header_names_a_space_or_the_personal_one() -> None:
    assert parse_space_id(None, ME) is None
    assert parse_space_id("  ", ME) is None
    assert parse_space_id(str(ME).upper(), ME) is None, "the personal space's id is the user's id"
    assert parse_space_id(f" {SPACE} ", ME) == SPACE
    for bad in ("nope", "1234", str(SPACE)[:-1]):
        with pytest.raises(Invalid) as refused:
            parse_space_id(bad, ME)
        assert refused.value.details == [{"field": "X-Space-ID", "message": refused.value.message}]


def test_an_event_names_its_space_by_a_field_or_an_extra() -> None:
    assert space_of(snapshot(1, {})) == SPACE
    base = {"user_id": str(ME), "deleted_at": "2026-11-26T12:00:00Z"}
    assert space_of(UserDeleted.model_validate(base)) is None
    extra = UserDeleted.model_validate({**base, "space_id": str(SPACE)})
    assert space_of(extra) == SPACE, "an extra field arrives as text and is parsed"
    assert space_of(UserDeleted.model_validate({**base, "space_id": "nope"})) is None


def test_a_service_carries_the_space_tables_only_when_its_models_import_them() -> None:
    absent = "pfms_probe_absent"
    assert {"space_members", "space_versions"}.isdisjoint(service_metadata(absent).tables)
    adopting = types.ModuleType("pfms_probe_spaces.models")
    adopting.SpaceMembership = SpaceMembership  # type: ignore[attr-defined]
    adopting.SpaceVersion = SpaceVersion  # type: ignore[attr-defined]
    sys.modules[adopting.__name__] = adopting
    try:
        assert {"space_members", "space_versions", "outbox", "inbox"} <= set(
            service_metadata("pfms_probe_spaces").tables
        )
    finally:
        del sys.modules[adopting.__name__]


def snapshot(version: int, members: dict[uuid.UUID, str], *, deleted: bool = False) -> SpaceMembershipChanged:
    return SpaceMembershipChanged(
        user_id=ME,
        space_id=SPACE,
        kind="household",
        name="Home",
        space_version=version,
        deleted=deleted,
        members=[SpaceMember(user_id=u, role=r) for u, r in members.items()],
    )


@dataclass
class Probe:
    app: FastAPI
    client: httpx.AsyncClient
    purged: list[uuid.UUID]

    async def members(self) -> dict[uuid.UUID, str]:
        async with self.app.state.db.sessions() as session:
            rows = await session.execute(select(SpaceMembership.user_id, SpaceMembership.role))
            return {user: role for user, role in rows.all()}

    async def apply(self, data: SpaceMembershipChanged) -> bool:
        async with self.app.state.db.sessions() as session, session.begin():
            return await apply_snapshot(session, data, purger(self.purged))


def purger(purged: list[uuid.UUID]) -> Any:
    """The service's purge of a deleted space's rows (noting which spaces it purged)."""

    async def on_space_deleted(session: AsyncSession, space_id: uuid.UUID) -> None:
        await session.execute(delete(NOTES).where(NOTES.c.space_id == space_id))
        purged.append(space_id)

    return on_space_deleted


def _router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/probe")

    @router.get("/notes")
    async def notes(scope: CurrentScope, session: Session) -> dict[str, Any]:
        scope.require("read")
        rows = await session.execute(select(NOTES.c.body).where(scope.owns(NOTES.c)).order_by(NOTES.c.body))
        return ok({"role": scope.role, "space_id": scope.space_id, "notes": list(rows.scalars())})

    @router.post("/notes", status_code=status.HTTP_201_CREATED)
    async def add(body: str, scope: CurrentScope, session: Session) -> dict[str, Any]:
        scope.require("write")
        await session.execute(insert(NOTES).values(id=uuid.uuid4(), body=body, **scope.owner_values()))
        return ok({"body": body})

    return router


@pytest.fixture
async def probe(stack: Stack, jwt_keys: TestKeys) -> AsyncIterator[Probe]:
    """A service that adopted spaces, on its own database and vhost, consuming real events."""
    name = f"probe_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    url = stack.postgres.url(name)
    engine = create_async_engine(url)
    tables = [t.__table__ for t in (OutboxEvent, InboxEvent, SpaceMembership, SpaceVersion)]
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all, tables=tables)
        await conn.run_sync(NOTES.metadata.create_all)
    await engine.dispose()
    stack.rabbitmq.add_vhost(name)
    settings = ServiceSettings(
        service_name="probe",
        environment="test",
        database_url=url,
        amqp_url=stack.rabbitmq.url(name),
        redis_url=stack.redis.url(58),
        jwks_url=jwt_keys.url,
    )
    purged: list[uuid.UUID] = []
    app = create_app(settings, title="probe", routers=[_router()], handlers=space_handlers(purger(purged)))
    async with LifespanManager(app):
        await asyncio.wait_for(app.state.consumer.ready.wait(), 60)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")
        yield Probe(app, client, purged)
        await client.aclose()
    stack.rabbitmq.delete_vhost(name)
    await _admin(stack, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.integration
async def test_members_act_by_role_and_snapshots_apply_newest_first(probe: Probe, jwt_keys: TestKeys) -> None:
    owner, viewer, stranger = ME, OTHER, uuid.uuid4()
    amqp = probe.app.state.settings.amqp_url
    await publish_event(amqp, snapshot(2, {owner: "owner", viewer: "viewer"}), source="user")

    async def applied() -> bool:
        return await probe.members() == {owner: "owner", viewer: "viewer"}

    await until(applied)
    get, post = probe.client.get, probe.client.post
    in_space = {"X-Space-ID": str(SPACE)}

    def who(user: uuid.UUID, space: dict[str, str] | None = None) -> dict[str, str]:
        return {**jwt_keys.auth(user), **(space or {})}

    assert (
        await post("/api/v1/probe/notes", params={"body": "shared"}, headers=who(owner, in_space))
    ).status_code == 201
    mine = await post("/api/v1/probe/notes", params={"body": "mine"}, headers=who(owner, {"X-Space-ID": str(owner)}))
    assert mine.status_code == 201, "my own id is my personal space"
    refused = await post("/api/v1/probe/notes", params={"body": "no"}, headers=who(viewer, in_space))
    assert refused.status_code == 403 and "viewer" in refused.json()["error"]["message"]
    seen = (await get("/api/v1/probe/notes", headers=who(viewer, in_space))).json()["data"]
    assert seen == {"role": "viewer", "space_id": str(SPACE), "notes": ["shared"]}
    assert (await get("/api/v1/probe/notes", headers=who(owner))).json()["data"]["notes"] == ["mine"]
    assert (await get("/api/v1/probe/notes", headers=who(viewer))).json()["data"]["notes"] == []

    for headers, code in (
        (who(owner, {"X-Space-ID": "not-a-uuid"}), 422),
        (who(stranger, in_space), 404),
        (who(owner, {"X-Space-ID": str(uuid.uuid4())}), 404),
    ):
        answer = await get("/api/v1/probe/notes", headers=headers)
        assert answer.status_code == code, answer.text
        assert [d["field"] for d in answer.json()["error"]["details"]] == ["X-Space-ID"]
    assert (await get("/api/v1/probe/notes", headers=in_space)).status_code == 401

    # The version rule: equal and older snapshots change nothing, a newer one replaces the members.
    assert not await probe.apply(snapshot(2, {owner: "owner"}))
    assert not await probe.apply(snapshot(1, {owner: "owner", viewer: "admin", stranger: "member"}))
    assert await probe.members() == {owner: "owner", viewer: "viewer"}
    assert await probe.apply(snapshot(3, {owner: "owner", viewer: "member"}))
    assert await probe.members() == {owner: "owner", viewer: "member"}
    assert (await post("/api/v1/probe/notes", params={"body": "now"}, headers=who(viewer, in_space))).status_code == 201

    # forget_member (a user.deleted purge) ends someone's access at once.
    async with probe.app.state.db.sessions() as session, session.begin():
        await forget_member(session, viewer)
        assert await role_in(session, SPACE, viewer) is None
        assert await role_in(session, SPACE, owner) == "owner"

    # Deleted: through the real bus; members dropped, the space's rows purged, later snapshots of it ignored.
    await publish_event(amqp, snapshot(4, {}, deleted=True), source="user")

    async def purged() -> bool:
        return probe.purged == [SPACE]

    await until(purged)
    assert await probe.members() == {}
    assert (await get("/api/v1/probe/notes", headers=who(owner, in_space))).status_code == 404
    assert (await get("/api/v1/probe/notes", headers=who(owner))).json()["data"]["notes"] == ["mine"]
    assert not await probe.apply(snapshot(3, {owner: "owner"}))
    async with probe.app.state.db.sessions() as session:
        tombstone = await session.get(SpaceVersion, SPACE)
        assert tombstone is not None and (tombstone.version, tombstone.deleted) == (4, True)
        assert await session.scalar(text("SELECT count(*) FROM notes WHERE space_id IS NOT NULL")) == 0
