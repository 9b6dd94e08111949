"""HTTP routes of the user service: every route acts on the caller's own rows only."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from pfms_contracts.identity import FamilyInvited
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, meta, ok
from pfms_platform.errors import Conflict, Invalid, NotFound
from pfms_platform.events.outbox import emit
from pfms_platform.security import CurrentUser
from pfms_user import domain, store
from pfms_user.domain import FamilyStatus, Relationship
from pfms_user.models import (
    DeliveryPreferences,
    FamilyMember,
    FinancialPreferences,
    NotificationPreference,
    PrivacySettings,
    UserProfile,
)
from pfms_user.reader import ProfileReader, envelope_json
from pfms_user.schemas import (
    Delivery,
    DeliveryUpdate,
    Family,
    FamilyEntry,
    FamilyInvite,
    Financial,
    FinancialUpdate,
    NotificationSetting,
    NotificationUpdates,
    Privacy,
    PrivacyUpdate,
    Profile,
    ProfileUpdate,
)

router = APIRouter(prefix="/api/v1/user", tags=["user"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No profile yet, or not the caller's"}}


def _profile(row: UserProfile) -> dict[str, Any]:
    return Profile.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.get("/profile", response_model=Envelope[Profile], responses=NOT_FOUND)
async def get_profile(user: CurrentUser, request: Request) -> Response:
    """The fleet's benchmark route: one indexed query on the lean reader (see reader.py), no ORM."""
    reader: ProfileReader = request.app.state.profile_reader
    profile = await reader.profile(user)
    if profile is None:
        raise NotFound(store.NO_PROFILE)
    return Response(envelope_json(profile, meta()), media_type="application/json")


@router.put("/profile", response_model=Envelope[Profile], responses=NOT_FOUND)
async def update_profile(body: ProfileUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Partial update: only the fields sent change; `null` clears an optional field."""
    row = await store.owned(session, UserProfile, user, lock=True)
    await store.update_section(session, row, "profile", body.changes(), body.model_dump(mode="json"))
    return ok(_profile(row))


def _financial(row: FinancialPreferences) -> dict[str, Any]:
    return Financial.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.get("/preferences/financial", response_model=Envelope[Financial], responses=NOT_FOUND)
async def get_financial(user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(_financial(await store.owned(session, FinancialPreferences, user)))


@router.put("/preferences/financial", response_model=Envelope[Financial], responses=NOT_FOUND)
async def update_financial(body: FinancialUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Partial update; money as decimal strings (or numbers) with at most two decimals."""
    row = await store.owned(session, FinancialPreferences, user, lock=True)
    await store.update_section(session, row, "financial", body.changes(), body.model_dump(mode="json"))
    return ok(_financial(row))


def _privacy(row: PrivacySettings) -> dict[str, Any]:
    return Privacy.model_validate(row, from_attributes=True).model_dump(mode="json")


@router.get("/preferences/privacy", response_model=Envelope[Privacy], responses=NOT_FOUND)
async def get_privacy(user: CurrentUser, session: Session) -> dict[str, Any]:
    return ok(_privacy(await store.owned(session, PrivacySettings, user)))


@router.put("/preferences/privacy", response_model=Envelope[Privacy], responses=NOT_FOUND)
async def update_privacy(body: PrivacyUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Partial update of the privacy switches."""
    row = await store.owned(session, PrivacySettings, user, lock=True)
    await store.update_section(session, row, "privacy", body.changes(), body.model_dump(mode="json"))
    return ok(_privacy(row))


def _notifications(rows: list[NotificationPreference]) -> list[dict[str, Any]]:
    return [{"channel": r.channel, "category": r.category, "enabled": r.enabled} for r in rows]


@router.get("/preferences/notifications", response_model=Envelope[list[NotificationSetting]], responses=NOT_FOUND)
async def get_notifications(user: CurrentUser, session: Session) -> dict[str, Any]:
    """Every channel and category pair with its switch."""
    return ok(_notifications(await store.notification_rows(session, user)))


@router.put("/preferences/notifications", response_model=Envelope[list[NotificationSetting]], responses=NOT_FOUND)
async def update_notifications(body: NotificationUpdates, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Sets the `enabled` switch of each pair sent; pairs not sent keep theirs. Answers the full list."""
    wanted = {(s.channel.value, s.category.value): s.enabled for s in body}
    if len(wanted) < len(body):
        raise Invalid("Each channel and category pair may appear once", field="body")
    rows = await store.notification_rows(session, user, lock=True)
    flipped = [r for r in rows if wanted.get((r.channel, r.category), r.enabled) != r.enabled]
    for row in flipped:
        row.enabled = wanted[(row.channel, row.category)]
    if flipped:
        await session.flush()
        await store.emit_updated(session, user, "notifications", {"preferences": _notifications(flipped)})
    return ok(_notifications(rows))


def _delivery(row: DeliveryPreferences) -> dict[str, Any]:
    quiet = domain.quiet_hours(row.quiet_start, row.quiet_end)
    shown = Delivery.model_validate({"quiet_hours": quiet, "digest": row.digest, "updated_at": row.updated_at})
    return shown.model_dump(mode="json")


@router.get("/preferences/delivery", response_model=Envelope[Delivery], responses=NOT_FOUND)
async def get_delivery(user: CurrentUser, session: Session) -> dict[str, Any]:
    """Quiet hours (in the profile's time zone) and the digest choice."""
    return ok(_delivery(await store.owned(session, DeliveryPreferences, user)))


@router.put("/preferences/delivery", response_model=Envelope[Delivery], responses=NOT_FOUND)
async def update_delivery(body: DeliveryUpdate, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Partial update: `quiet_hours` ({start, end}, or null to turn them off) and/or `digest`. A change is
    announced as `user.updated` section `notifications` (`changes.quiet_hours`, `changes.digest`)."""
    row = await store.owned(session, DeliveryPreferences, user, lock=True)
    values = domain.delivery_columns(body.changes())
    diff = domain.changed({key: getattr(row, key) for key in values}, values)
    if diff:
        for key in diff:
            setattr(row, key, values[key])
        await session.flush()
        columns = {"quiet_start": row.quiet_start, "quiet_end": row.quiet_end, "digest": row.digest}
        await store.emit_updated(session, user, "notifications", domain.delivery_changes(diff, columns))
    return ok(_delivery(row))


def _entry(row: FamilyMember, user: uuid.UUID) -> dict[str, Any]:
    return FamilyEntry(
        id=row.id,
        direction="sent" if row.inviter_user_id == user else "received",
        relationship=Relationship(row.relationship),
        status=FamilyStatus(row.status),
        inviter_user_id=row.inviter_user_id,
        invitee_email=row.invitee_email,
        invitee_user_id=row.invitee_user_id,
        created_at=row.created_at,
        responded_at=row.responded_at,
    ).model_dump(mode="json")


@router.get("/family", response_model=Envelope[Family])
async def get_family(user: CurrentUser, session: Session) -> dict[str, Any]:
    """Members (either side invited) and pending invitations, sent and received (received ones only
    once the caller's address is verified)."""
    family: dict[str, list[dict[str, Any]]] = {"members": [], "invitations_sent": [], "invitations_received": []}
    for row in await store.family_of(session, user):
        if row.status == FamilyStatus.ACCEPTED:
            key = "members"
        else:
            key = "invitations_sent" if row.inviter_user_id == user else "invitations_received"
        family[key].append(_entry(row, user))
    return ok(family)


@router.post(
    "/family/invite",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[FamilyEntry],
    responses={**NOT_FOUND, 409: {"description": "Already invited or already family"}},
)
async def invite(body: FamilyInvite, user: CurrentUser, session: Session) -> dict[str, Any]:
    """Invite someone by email; they accept or decline once signed in with that address."""
    me = await store.owned(session, UserProfile, user)
    domain.check_invitee(me.email, body.email)
    if await store.linked(session, user, me.email, body.email):
        raise Conflict("This person is already invited or in your family", field="email")
    token, token_hash = domain.invitation_token()
    row = FamilyMember(
        id=uuid.uuid4(),
        inviter_user_id=user,
        invitee_email=body.email,
        relationship=body.relationship,
        status=FamilyStatus.PENDING,
        token_hash=token_hash,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent invite of the same address won the race
        raise Conflict("This person is already invited or in your family", field="email") from exc
    await emit(
        session,
        FamilyInvited(
            user_id=user,
            invitation_id=row.id,
            invitee_email=body.email,
            relationship=body.relationship.value,
            token=token,
        ),
    )
    return ok(_entry(row, user))


Token = Annotated[str | None, Query(max_length=128, description="The token from the invitation link, if any")]
ANSWER: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "EMAIL_NOT_VERIFIED: the caller's address is not verified yet"},
    409: {"description": "Already answered"},
}


async def _answer(session: Session, user: uuid.UUID, invitation: uuid.UUID, token: str | None, accept: bool) -> Any:
    """Only the invitee (by the address on their profile) may answer; anyone else gets 404. Answering
    either way needs that address verified (403 EMAIL_NOT_VERIFIED): whoever merely typed it at sign-up
    may neither join the family nor turn the real invitee's invitation down."""
    row = await store.family_row(
        session, (FamilyMember.id == invitation) & (FamilyMember.invitee_email == store.email_of(user))
    )
    if token is not None and not domain.token_matches(token, row.token_hash):
        raise NotFound("Family invitation not found")
    await store.require_verified(session, user)
    row.status = domain.respond(FamilyStatus(row.status), accept=accept)
    row.invitee_user_id = user
    row.responded_at = datetime.now(UTC)
    await session.flush()
    return ok(_entry(row, user))


@router.post(
    "/family/invitations/{invitation_id}/accept",
    response_model=Envelope[FamilyEntry],
    responses=ANSWER,
)
async def accept(invitation_id: uuid.UUID, user: CurrentUser, session: Session, token: Token = None) -> Any:
    return await _answer(session, user, invitation_id, token, accept=True)


@router.post(
    "/family/invitations/{invitation_id}/decline",
    response_model=Envelope[FamilyEntry],
    responses=ANSWER,
)
async def decline(invitation_id: uuid.UUID, user: CurrentUser, session: Session, token: Token = None) -> Any:
    return await _answer(session, user, invitation_id, token, accept=False)


@router.delete("/family/{member_id}", response_model=Envelope[FamilyEntry], responses=NOT_FOUND)
async def remove(member_id: uuid.UUID, user: CurrentUser, session: Session) -> dict[str, Any]:
    """The inviter withdraws an invitation or ends a membership; a member leaves. The row stays as history."""
    row = await store.family_row(
        session,
        (FamilyMember.id == member_id)
        & or_(FamilyMember.inviter_user_id == user, FamilyMember.invitee_user_id == user),
    )
    if not domain.removable(FamilyStatus(row.status), is_inviter=row.inviter_user_id == user):
        raise NotFound("Family member not found")
    row.status = FamilyStatus.REMOVED
    await session.flush()
    return ok(_entry(row, user))
