"""Shared spaces in every service: the membership read model, its event handler, and the request scope.

The user service owns spaces and publishes `space.membership_changed` (the whole membership, with a
version) after every change. A service that lets its objects belong to a space keeps the newest
snapshot per space in `space_members` / `space_versions` (the handler from `space_handlers`), and its
routes take `CurrentScope` instead of `CurrentUser`: the `X-Space-ID` header picks the space (absent,
or the caller's own id: the personal space), checked against that read model in one indexed query —
no call to the user service, and a removed member loses access as soon as the snapshot is applied.

Adopting: call `create_space_tables()` in a migration, import `SpaceMembership` and `SpaceVersion`
into the service's models module (that is what puts them in its schema and its GDPR export), merge
`space_handlers(...)` into HANDLERS, call `forget_member` from the `user.deleted` purge, and give the
scoped tables a nullable `space_id` column. See the platform README.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header
from sqlalchemy import ColumnElement, String, and_, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from pfms_contracts.spaces import SpaceMembershipChanged
from pfms_platform.db import OPT_IN, Base, Session
from pfms_platform.errors import Forbidden, Invalid, NotFound
from pfms_platform.events.consumer import Handler
from pfms_platform.security import CurrentUser

Action = Literal["read", "write", "manage"]
Role = Literal["owner", "admin", "member", "viewer"]
HEADER = "X-Space-ID"

ALLOWED: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "member": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "manage"}),
    "owner": frozenset({"read", "write", "manage"}),
}
"""What each role may do; an unknown role may do nothing."""

SpaceDeleted = Callable[[AsyncSession, uuid.UUID], Awaitable[None]]
"""A service's purge of one deleted space's rows, run in the handler's transaction."""


class SpaceMembership(Base):
    """Who is in which space with which role: this service's copy of the newest snapshot."""

    __tablename__ = "space_members"
    __table_args__ = {"info": {OPT_IN: True}}

    space_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))


class SpaceVersion(Base):
    """The newest snapshot version applied per space; a deleted space stays as a tombstone."""

    __tablename__ = "space_versions"
    __table_args__ = {"info": {OPT_IN: True}}

    space_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    version: Mapped[int]
    deleted: Mapped[bool]


def allows(role: str, action: str) -> bool:
    return action in ALLOWED.get(role, frozenset())


@dataclass(frozen=True)
class Scope:
    """Whose data a request acts on: the caller's personal space (`space_id` None) or a shared one."""

    user_id: uuid.UUID
    space_id: uuid.UUID | None
    role: str

    @property
    def personal(self) -> bool:
        return self.space_id is None

    def require(self, action: Action) -> "Scope":
        """The scope itself when `role` may do `action`; 403 otherwise."""
        if not allows(self.role, action):
            raise Forbidden(f"A {self.role} of this space may not {action} here")
        return self

    def owns(self, model: Any) -> ColumnElement[bool]:
        """The rows of `model` (with `user_id` and `space_id` columns) that belong to this scope."""
        if self.space_id is None:
            return and_(model.user_id == self.user_id, model.space_id.is_(None))
        return model.space_id == self.space_id

    def owner_values(self) -> dict[str, uuid.UUID | None]:
        """Columns for a new row: who created it and the space it belongs to (None: personal)."""
        return {"user_id": self.user_id, "space_id": self.space_id}


def parse_space_id(value: str | None, user: uuid.UUID) -> uuid.UUID | None:
    """The space the header asks for; None for the personal space (no header, or the caller's own id)."""
    if value is None or not value.strip():
        return None
    try:
        space = uuid.UUID(value.strip())
    except ValueError as exc:
        raise Invalid(f"{HEADER} must be a space id (a UUID)", field=HEADER) from exc
    return None if space == user else space


def space_of(data: Any) -> uuid.UUID | None:
    """The space an event's object belongs to (None: a personal object). Reads `space_id` whether the
    contract declares it or the producer sent it as an extra field (extras are not parsed: a string)."""
    value = getattr(data, "space_id", None)
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def role_in(session: AsyncSession, space_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    """The user's role in the space by this service's read model; None when not a member (or no such space)."""
    return await session.scalar(
        select(SpaceMembership.role).where(SpaceMembership.space_id == space_id, SpaceMembership.user_id == user_id)
    )


async def current_scope(
    user: CurrentUser,
    session: Session,
    space: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="The space to act in; absent (or your own user id) for your personal space.",
        ),
    ] = None,
) -> Scope:
    """The caller's scope for this request; 404 for a space they are not in, so none is revealed."""
    space_id = parse_space_id(space, user)
    if space_id is None:
        return Scope(user, None, "owner")
    role = await role_in(session, space_id, user)
    if role is None:
        raise NotFound("Space not found", field=HEADER)
    return Scope(user, space_id, role)


CurrentScope = Annotated[Scope, Depends(current_scope)]


async def apply_snapshot(
    session: AsyncSession, data: SpaceMembershipChanged, on_space_deleted: SpaceDeleted | None = None
) -> bool:
    """Replace the space's members by the snapshot if it is newer than the one held; False if it is not.

    The version row is upserted only when newer (a row lock serialises concurrent snapshots of one
    space), so an older or repeated snapshot changes nothing whatever order they arrive in.
    """
    stmt = insert(SpaceVersion).values(space_id=data.space_id, version=data.space_version, deleted=data.deleted)
    newer = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[SpaceVersion.space_id],
            set_={"version": stmt.excluded.version, "deleted": stmt.excluded.deleted},
            where=SpaceVersion.version < stmt.excluded.version,
        ).returning(SpaceVersion.space_id)
    )
    if newer is None:
        return False
    await session.execute(delete(SpaceMembership).where(SpaceMembership.space_id == data.space_id))
    if data.deleted:
        if on_space_deleted is not None:
            await on_space_deleted(session, data.space_id)
        return True
    if data.members:
        await session.execute(
            insert(SpaceMembership).values(
                [{"space_id": data.space_id, "user_id": m.user_id, "role": m.role} for m in data.members]
            )
        )
    return True


def space_handlers(on_space_deleted: SpaceDeleted | None = None) -> dict[str, Handler]:
    """The handler of `space.membership_changed`, to merge into a service's HANDLERS."""

    async def on_membership_changed(session: AsyncSession, data: SpaceMembershipChanged) -> None:
        await apply_snapshot(session, data, on_space_deleted)

    return {SpaceMembershipChanged.type: on_membership_changed}


async def forget_member(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Drop a deleted user's memberships at once (call it from the service's `user.deleted` purge)."""
    await session.execute(delete(SpaceMembership).where(SpaceMembership.user_id == user_id))
