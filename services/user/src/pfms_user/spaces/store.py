"""Queries of spaces and the one place their snapshots are published from.

Every change locks the space row first (`FOR UPDATE`), so its changes — and so the versions of the
snapshots — are serialised; the snapshot is written to the outbox in the same transaction.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.spaces import SpaceMember, SpaceMembershipChanged
from pfms_platform.errors import NotFound
from pfms_platform.events.outbox import emit
from pfms_user.models import UserProfile
from pfms_user.spaces import rules
from pfms_user.spaces.models import Invitation, Member, Space
from pfms_user.spaces.rules import InvitationStatus, Role
from pfms_user.store import email_of

NO_SPACE = "Space not found"


async def seat(
    session: AsyncSession, space_id: uuid.UUID, user: uuid.UUID, *, lock: bool = False
) -> tuple[Space, Member]:
    """A live space and the caller's membership of it; 404 for anyone outside it, as for no such space."""
    query = select(Space).where(Space.id == space_id, Space.deleted_at.is_(None))
    space = await session.scalar(query.with_for_update() if lock else query)
    me = await session.get(Member, (space_id, user)) if space is not None else None
    if space is None or me is None:
        raise NotFound(NO_SPACE, field="space_id")
    return space, me


async def member(session: AsyncSession, space_id: uuid.UUID, user_id: uuid.UUID) -> Member:
    row = await session.get(Member, (space_id, user_id))
    if row is None:
        raise NotFound("Member not found", field="user_id")
    return row


async def members(session: AsyncSession, space_id: uuid.UUID) -> list[Member]:
    """Everyone in the space, longest-standing first."""
    query = select(Member).where(Member.space_id == space_id).order_by(Member.joined_at, Member.user_id)
    return list((await session.scalars(query)).all())


async def announce(session: AsyncSession, space: Space) -> None:
    """Publish the space's current membership under its current version."""
    await session.flush()
    seats = [] if space.deleted_at is not None else await members(session, space.id)
    await emit(
        session,
        SpaceMembershipChanged(
            user_id=space.owner_id,
            space_id=space.id,
            kind=space.kind,
            name=space.name,
            space_version=space.version,
            deleted=space.deleted_at is not None,
            members=[SpaceMember(user_id=m.user_id, role=m.role) for m in seats],
        ),
    )


async def changed(session: AsyncSession, space: Space) -> None:
    """A change to a locked space: next version, published."""
    space.version += 1
    space.updated_at = datetime.now(UTC)
    await announce(session, space)


async def create(session: AsyncSession, user: uuid.UUID, kind: str, name: str) -> Space:
    space = Space(id=uuid.uuid4(), kind=kind, name=name, owner_id=user, version=1)
    session.add(space)
    await session.flush()
    session.add(Member(space_id=space.id, user_id=user, role=Role.OWNER.value))
    await announce(session, space)
    return space


async def mine(session: AsyncSession, user: uuid.UUID, offset: int, limit: int) -> tuple[list[tuple[Space, str]], int]:
    """The live shared spaces the user is in (with their role), in the order they joined, and how many."""
    live = (Member.user_id == user, Space.deleted_at.is_(None))
    joined = select(Space, Member.role).join(Member, Member.space_id == Space.id).where(*live)
    rows = await session.execute(joined.order_by(Member.joined_at, Space.id).offset(offset).limit(limit))
    total = await session.scalar(select(func.count()).select_from(Member).join(Space).where(*live))
    return [(space, role) for space, role in rows], int(total or 0)


async def remove(session: AsyncSession, space: Space, user_id: uuid.UUID) -> None:
    await session.execute(delete(Member).where(Member.space_id == space.id, Member.user_id == user_id))
    await changed(session, space)


async def transfer(session: AsyncSession, space: Space, me: Member, heir: Member) -> None:
    """The heir owns the space; the old owner stays as an admin."""
    me.role, heir.role, space.owner_id = Role.ADMIN.value, Role.OWNER.value, heir.user_id
    await changed(session, space)


async def close(session: AsyncSession, space: Space) -> None:
    """Delete a locked space: members gone, open invitations revoked, the deleted snapshot published.

    The row stays as a tombstone (its version is the last word on the space) until the owner's
    account is deleted.
    """
    space.deleted_at = datetime.now(UTC)
    await session.execute(delete(Member).where(Member.space_id == space.id))
    await session.execute(
        update(Invitation)
        .where(Invitation.space_id == space.id, Invitation.status == InvitationStatus.PENDING.value)
        .values(status=InvitationStatus.REVOKED.value, responded_at=space.deleted_at)
    )
    await changed(session, space)


async def already_in(session: AsyncSession, space_id: uuid.UUID, email: str) -> bool:
    """Whether the person with this address on their profile is in the space."""
    found = await session.scalar(
        select(Member.user_id)
        .join(UserProfile, UserProfile.user_id == Member.user_id)
        .where(Member.space_id == space_id, UserProfile.email == email)
    )
    return found is not None


async def expire(session: AsyncSession, space_id: uuid.UUID, email: str) -> None:
    """Close the address's expired open invitation to the space, so a new one may take its place."""
    await session.execute(
        update(Invitation)
        .where(
            Invitation.space_id == space_id,
            Invitation.invitee_email == email,
            Invitation.status == InvitationStatus.PENDING.value,
            Invitation.expires_at <= func.now(),
        )
        .values(status=InvitationStatus.REVOKED.value, responded_at=func.now())
    )


async def invitation_for(session: AsyncSession, invitation_id: uuid.UUID, user: uuid.UUID) -> Invitation:
    """An invitation addressed to the caller's profile address; 404 for anyone else."""
    row = await session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.invitee_email == email_of(user))
    )
    if row is None:
        raise NotFound("Invitation not found")
    return row


async def invitation_of(session: AsyncSession, space_id: uuid.UUID, invitation_id: uuid.UUID) -> Invitation:
    row = await session.scalar(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.space_id == space_id).with_for_update()
    )
    if row is None:
        raise NotFound("Invitation not found")
    return row


async def received(session: AsyncSession, user: uuid.UUID, offset: int, limit: int) -> tuple[list[Any], int]:
    """Pending, unexpired invitations to the caller's address into live spaces, newest first."""
    where = (
        Invitation.invitee_email == email_of(user),
        Invitation.status == InvitationStatus.PENDING.value,
        Invitation.expires_at > func.now(),
        Space.deleted_at.is_(None),
    )
    base = select(Invitation, Space.name).join(Space, Space.id == Invitation.space_id).where(*where)
    rows = await session.execute(base.order_by(Invitation.created_at.desc(), Invitation.id).offset(offset).limit(limit))
    total = await session.scalar(select(func.count()).select_from(Invitation).join(Space).where(*where))
    return [(invitation, name) for invitation, name in rows], int(total or 0)


async def pending(session: AsyncSession, space_id: uuid.UUID, offset: int, limit: int) -> tuple[list[Invitation], int]:
    where = (Invitation.space_id == space_id, Invitation.status == InvitationStatus.PENDING.value)
    query = select(Invitation).where(*where).order_by(Invitation.created_at.desc(), Invitation.id)
    rows = await session.scalars(query.offset(offset).limit(limit))
    total = await session.scalar(select(func.count()).select_from(Invitation).where(*where))
    return list(rows.all()), int(total or 0)


async def forget(session: AsyncSession, user: uuid.UUID) -> None:
    """A deleted account leaves every space: an owner's space passes to the successor (or is deleted);
    each change is published. Then their invitations (sent, or to their address) and their deleted
    spaces' tombstones go. Runs before the profile (and so the address) is purged."""
    joined = select(Member.space_id).where(Member.user_id == user)
    spaces = (
        await session.scalars(select(Space).where(Space.id.in_(joined)).order_by(Space.id).with_for_update())
    ).all()
    for space in spaces:
        seats = await members(session, space.id)
        mine = next(m for m in seats if m.user_id == user)
        if mine.role == Role.OWNER:
            heir = rules.successor([rules.Seat(m.user_id, m.role, m.joined_at) for m in seats], user)
            if heir is None:
                await close(session, space)
                continue
            heir_row = next(m for m in seats if m.user_id == heir)
            heir_row.role, space.owner_id = Role.OWNER.value, heir
        await session.delete(mine)
        await changed(session, space)
    await session.execute(
        delete(Invitation).where(
            (Invitation.inviter_user_id == user)
            | (Invitation.invitee_user_id == user)
            | (Invitation.invitee_email == email_of(user))
        )
    )
    await session.execute(delete(Space).where(Space.owner_id == user, Space.deleted_at.is_not(None)))
