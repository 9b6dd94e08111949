"""`/api/v1/spaces`: create, list, invite, answer, change roles, remove, leave, transfer, delete.

A space the caller is not in answers 404 whatever its state, so nobody learns it exists; a member
without the role for a step gets 403 naming their role. The personal space (id = the caller's id)
is listed and shown but cannot be renamed, shared, left, transferred or deleted (409).
"""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.spaces import SpaceInvitationCreated
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.security import CurrentUser
from pfms_user import domain
from pfms_user import store as profiles
from pfms_user.models import UserProfile
from pfms_user.spaces import rules, store
from pfms_user.spaces.models import Invitation, Member, Space
from pfms_user.spaces.rules import InvitationStatus, Role
from pfms_user.spaces.schemas import (
    InvitationCreate,
    InvitationOut,
    MemberOut,
    RoleChange,
    SpaceCreate,
    SpaceDetail,
    SpaceRename,
    SpaceSummary,
    Transfer,
)

router = APIRouter(prefix="/api/v1/spaces", tags=["spaces"])

Pages = Annotated[PageParams, Query()]
Token = Annotated[str | None, Query(max_length=128, description="The token from the invitation link, if any")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such space, or the caller is not in it"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "The caller's role does not allow this (or, answering an invitation, EMAIL_NOT_VERIFIED)"},
    409: {"description": "Not possible in the personal space, or in the space's current state"},
}
UNVERIFIED: dict[int | str, dict[str, Any]] = {403: {"description": "EMAIL_NOT_VERIFIED: the address is not verified"}}


def _summary(space: Space, role: str) -> dict[str, Any]:
    return SpaceSummary(
        id=space.id,
        kind=rules.Kind(space.kind),
        name=space.name,
        role=Role(role),
        owner_id=space.owner_id,
        version=space.version,
        created_at=space.created_at,
    ).model_dump(mode="json")


def _personal(user: uuid.UUID) -> SpaceSummary:
    return SpaceSummary(
        id=user, kind="personal", name=rules.PERSONAL_NAME, role=Role.OWNER, owner_id=user, version=0, created_at=None
    )


async def _detail(session: AsyncSession, space: Space, role: str) -> dict[str, Any]:
    seats = [
        MemberOut(user_id=m.user_id, role=Role(m.role), joined_at=m.joined_at)
        for m in await store.members(session, space.id)
    ]
    summary = SpaceSummary.model_validate(_summary(space, role))
    return SpaceDetail(**summary.model_dump(), members=seats).model_dump(mode="json")


def _invitation(row: Invitation, space_name: str) -> dict[str, Any]:
    return InvitationOut(
        id=row.id,
        space_id=row.space_id,
        space_name=space_name,
        role=rules.Grant(row.role),
        status=InvitationStatus(row.status),
        inviter_user_id=row.inviter_user_id,
        invitee_email=row.invitee_email,
        invitee_user_id=row.invitee_user_id,
        expires_at=row.expires_at,
        created_at=row.created_at,
        responded_at=row.responded_at,
    ).model_dump(mode="json")


def _shared(space_id: uuid.UUID, user: uuid.UUID, action: str) -> None:
    if space_id == user:
        raise Conflict(f"The personal space cannot be {action}", field="space_id")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Envelope[SpaceDetail])
async def create(body: SpaceCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """A household or business space; the caller is its owner. Publishes the first snapshot."""
    space = await store.create(session, user, body.kind.value, body.name)
    return ok(await _detail(session, space, Role.OWNER))


@router.get("", response_model=PageEnvelope[SpaceSummary])
async def list_spaces(pages: Pages, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The caller's spaces with their role: the personal one first, then the shared ones as joined."""
    window = rules.window(pages.page, pages.limit)
    rows, total = await store.mine(session, user, window.offset, window.limit)
    items = [_personal(user).model_dump(mode="json")] if window.personal else []
    items += [_summary(space, role) for space, role in rows]
    return paged(items, pages, total + 1)


@router.get("/invitations", response_model=PageEnvelope[InvitationOut], responses=UNVERIFIED)
async def my_invitations(pages: Pages, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Open invitations to the address on the caller's profile, newest first; 403 EMAIL_NOT_VERIFIED
    until that address is verified."""
    await profiles.require_verified(session, user)
    rows, total = await store.received(session, user, pages.offset, pages.limit)
    return paged([_invitation(row, name) for row, name in rows], pages, total)


async def _answer(
    session: AsyncSession, user: uuid.UUID, invitation_id: uuid.UUID, token: str | None, accept: bool
) -> dict[str, Any]:
    """Only whoever has the invited address on their profile may answer (the family rule); others get 404.
    Answering either way needs that address verified (403 EMAIL_NOT_VERIFIED), so a person who signed
    up with someone else's address can neither join nor turn the invitation down.

    The space is locked before the invitation, in the order every other change takes them.
    """
    row = await store.invitation_for(session, invitation_id, user)
    if token is not None and not domain.token_matches(token, row.token_hash):
        raise NotFound("Invitation not found")
    await profiles.require_verified(session, user)
    space = await session.get(Space, row.space_id, with_for_update=True)
    if space is None:
        raise NotFound("Invitation not found")
    await session.refresh(row, with_for_update=True)
    now = datetime.now(UTC)
    row.status = rules.respond(row.status, expires_at=row.expires_at, now=now, accept=accept).value
    row.invitee_user_id, row.responded_at = user, now
    if accept:
        if await session.get(Member, (space.id, user)) is not None:
            raise Conflict("You are already in this space")
        session.add(Member(space_id=space.id, user_id=user, role=row.role))
        await store.changed(session, space)
    await session.flush()
    return _invitation(row, space.name)


@router.post("/invitations/{invitation_id}/accept", response_model=Envelope[InvitationOut], responses=REFUSED)
async def accept(invitation_id: uuid.UUID, user: CurrentUser, session: Session, token: Token = None) -> dict[str, Any]:
    """Join the space with the invited role; publishes the new snapshot."""
    return ok(await _answer(session, user, invitation_id, token, accept=True))


@router.post("/invitations/{invitation_id}/decline", response_model=Envelope[InvitationOut], responses=REFUSED)
async def decline(invitation_id: uuid.UUID, user: CurrentUser, session: Session, token: Token = None) -> dict[str, Any]:
    return ok(await _answer(session, user, invitation_id, token, accept=False))


@router.get("/{space_id}", response_model=Envelope[SpaceDetail], responses=NOT_FOUND)
async def get_space(space_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The space and its members with their roles (any member may look)."""
    if space_id == user:
        me = MemberOut(user_id=user, role=Role.OWNER, joined_at=None)
        return ok(SpaceDetail(**_personal(user).model_dump(), members=[me]).model_dump(mode="json"))
    space, me_row = await store.seat(session, space_id, user)
    return ok(await _detail(session, space, me_row.role))


@router.patch("/{space_id}", response_model=Envelope[SpaceDetail], responses=REFUSED)
async def rename(space_id: uuid.UUID, body: SpaceRename, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Admins and the owner rename the space; the snapshot carries the new name."""
    _shared(space_id, user, "renamed")
    space, me = await store.seat(session, space_id, user, lock=True)
    rules.require_manager(me.role)
    if space.name != body.name:
        space.name = body.name
        await store.changed(session, space)
    return ok(await _detail(session, space, me.role))


@router.delete("/{space_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSED)
async def delete_space(space_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """The owner deletes the space: everyone loses access, every service purges its data (deleted snapshot)."""
    _shared(space_id, user, "deleted")
    space, me = await store.seat(session, space_id, user, lock=True)
    rules.require_owner(me.role, "delete the space")
    await store.close(session, space)


@router.post(
    "/{space_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[InvitationOut],
    responses=REFUSED,
)
async def invite(space_id: uuid.UUID, body: InvitationCreate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Admins and the owner invite someone by email with a role; publishes `space.invitation_created`."""
    _shared(space_id, user, "shared")
    space, me = await store.seat(session, space_id, user, lock=True)
    rules.require_manager(me.role)
    profile = await profiles.owned(session, UserProfile, user)
    domain.check_invitee(profile.email, body.email)
    if await store.already_in(session, space.id, body.email):
        raise Conflict("This person is already in the space", field="email")
    await store.expire(session, space.id, body.email)
    token, token_hash = domain.invitation_token()
    row = Invitation(
        id=uuid.uuid4(),
        space_id=space.id,
        inviter_user_id=user,
        invitee_email=body.email,
        role=body.role.value,
        status=InvitationStatus.PENDING.value,
        token_hash=token_hash,
        expires_at=datetime.now(UTC) + rules.INVITATION_TTL,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("This address already has an open invitation to the space", field="email") from exc
    await session.refresh(row)
    await emit(
        session,
        SpaceInvitationCreated(
            user_id=user,
            invitation_id=row.id,
            space_id=space.id,
            space_name=space.name,
            role=body.role.value,
            invitee_email=body.email,
            token=token,
        ),
    )
    return ok(_invitation(row, space.name))


@router.get("/{space_id}/invitations", response_model=PageEnvelope[InvitationOut], responses=REFUSED)
async def space_invitations(space_id: uuid.UUID, pages: Pages, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The space's open invitations (admins and the owner)."""
    _shared(space_id, user, "shared")
    space, me = await store.seat(session, space_id, user)
    rules.require_manager(me.role)
    rows, total = await store.pending(session, space.id, pages.offset, pages.limit)
    return paged([_invitation(row, space.name) for row in rows], pages, total)


@router.delete("/{space_id}/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSED)
async def revoke(space_id: uuid.UUID, invitation_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Admins and the owner withdraw an open invitation."""
    _shared(space_id, user, "shared")
    space, me = await store.seat(session, space_id, user, lock=True)
    rules.require_manager(me.role)
    row = await store.invitation_of(session, space.id, invitation_id)
    if row.status != InvitationStatus.PENDING:
        raise Conflict(f"Invitation is already {row.status}")
    row.status, row.responded_at = InvitationStatus.REVOKED.value, datetime.now(UTC)


@router.patch("/{space_id}/members/{member_id}", response_model=Envelope[SpaceDetail], responses=REFUSED)
async def change_role(
    space_id: uuid.UUID, member_id: uuid.UUID, body: RoleChange, user: CurrentUser, session: Session
) -> dict[str, Any]:
    """Admins and the owner set a member's role (admin, member, viewer); the owner's changes only by transfer."""
    _shared(space_id, user, "shared")
    space, me = await store.seat(session, space_id, user, lock=True)
    target = await store.member(session, space.id, member_id)
    rules.check_role_change(me.role, target.role, body.role.value)
    if target.role != body.role:
        target.role = body.role.value
        await store.changed(session, space)
    return ok(await _detail(session, space, me.role))


@router.delete("/{space_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSED)
async def remove_member(space_id: uuid.UUID, member_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Admins and the owner remove a member (removing yourself is leaving); access ends everywhere at once."""
    _shared(space_id, user, "left")
    space, me = await store.seat(session, space_id, user, lock=True)
    if member_id == user:
        rules.check_leave(me.role)
    else:
        target = await store.member(session, space.id, member_id)
        rules.check_removal(me.role, target.role)
    await store.remove(session, space, member_id)


@router.post("/{space_id}/leave", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSED)
async def leave(space_id: uuid.UUID, user: CurrentUser, session: Session) -> None:
    """Any member but the owner leaves."""
    _shared(space_id, user, "left")
    space, me = await store.seat(session, space_id, user, lock=True)
    rules.check_leave(me.role)
    await store.remove(session, space, user)


@router.post("/{space_id}/transfer", response_model=Envelope[SpaceDetail], responses=REFUSED)
async def transfer(space_id: uuid.UUID, body: Transfer, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The owner hands the space to an existing member and stays as an admin."""
    _shared(space_id, user, "transferred")
    space, me = await store.seat(session, space_id, user, lock=True)
    rules.check_transfer(me.role, user, body.user_id)
    heir = await store.member(session, space.id, body.user_id)
    await store.transfer(session, space, me, heir)
    return ok(await _detail(session, space, me.role))
