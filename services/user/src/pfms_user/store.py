"""Queries shared by the routes and the event handlers; each scoped to one user's rows."""

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_contracts.identity import UserUpdated
from pfms_platform.errors import Forbidden, NotFound
from pfms_platform.events.outbox import emit
from pfms_user import domain
from pfms_user.domain import FamilyStatus
from pfms_user.models import (
    DeliveryPreferences,
    FamilyMember,
    FinancialPreferences,
    NotificationPreference,
    PrivacySettings,
    UserProfile,
)

Owned = TypeVar("Owned", UserProfile, FinancialPreferences, PrivacySettings, DeliveryPreferences)

LIVE = (FamilyStatus.PENDING.value, FamilyStatus.ACCEPTED.value)
NO_PROFILE = "Profile not found; it is created shortly after sign-up"


def email_of(user_id: uuid.UUID) -> Any:
    """The caller's address as a subquery, so matching invitations stays one round trip."""
    return select(UserProfile.email).where(UserProfile.user_id == user_id).scalar_subquery()


def verified_email_of(user_id: uuid.UUID) -> Any:
    """The caller's address only once verified (else no row): what invitations may be shown to."""
    query = select(UserProfile.email).where(UserProfile.user_id == user_id, UserProfile.email_verified.is_(True))
    return query.scalar_subquery()


async def require_verified(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Invitations go to an address: only someone who proved that mailbox is its invitee (else
    anyone signing up with another person's address could join their household)."""
    verified = await session.scalar(select(UserProfile.email_verified).where(UserProfile.user_id == user_id))
    if not verified:
        raise Forbidden(
            "Verify your email address (the link auth mailed you) to answer invitations", code="EMAIL_NOT_VERIFIED"
        )


async def create_defaults(session: AsyncSession, user_id: uuid.UUID, email: str, *, verified: bool = False) -> bool:
    """Profile plus default preferences; False (and nothing written) if the profile already exists."""
    created = await session.scalar(
        insert(UserProfile)
        .values(id=uuid.uuid4(), user_id=user_id, email=email, email_verified=verified, **domain.DEFAULT_PROFILE)
        .on_conflict_do_nothing(index_elements=[UserProfile.user_id])
        .returning(UserProfile.id)
    )
    if created is None:
        return False
    session.add(FinancialPreferences(user_id=user_id, **domain.DEFAULT_FINANCIAL))
    session.add(PrivacySettings(user_id=user_id, **domain.DEFAULT_PRIVACY))
    session.add(DeliveryPreferences(user_id=user_id, **domain.DEFAULT_DELIVERY))
    session.add_all(
        NotificationPreference(user_id=user_id, channel=channel, category=category, enabled=enabled)
        for channel, category, enabled in domain.default_notification_preferences()
    )
    await session.flush()
    return True


async def mark_verified(session: AsyncSession, user_id: uuid.UUID, email: str) -> bool:
    """Verified, only while `email` is the profile's address (an event about an earlier one vouches for
    nothing); the flag never goes back. False when nothing changed. A profile not made yet (the
    verification overtook `user.created`) is made here, verified; `user.created` then finds it."""
    if await create_defaults(session, user_id, email, verified=True):
        return True
    current = (UserProfile.user_id == user_id) & (UserProfile.email == email) & UserProfile.email_verified.is_(False)
    changed = await session.scalar(
        update(UserProfile).where(current).values(email_verified=True).returning(UserProfile.id)
    )
    return changed is not None


async def purge(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Every row about the user: family links on either side (by id or by address), then the rest."""
    await session.execute(
        delete(FamilyMember).where(
            or_(
                FamilyMember.inviter_user_id == user_id,
                FamilyMember.invitee_user_id == user_id,
                FamilyMember.invitee_email == email_of(user_id),
            )
        )
    )
    for model in (DeliveryPreferences, NotificationPreference, PrivacySettings, FinancialPreferences, UserProfile):
        await session.execute(delete(model).where(model.user_id == user_id))


async def owned(session: AsyncSession, model: type[Owned], user_id: uuid.UUID, *, lock: bool = False) -> Owned:
    query = select(model).where(model.user_id == user_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(NO_PROFILE)
    return row


async def emit_updated(session: AsyncSession, user_id: uuid.UUID, section: str, changes: dict[str, Any]) -> None:
    await emit(session, UserUpdated(user_id=user_id, section=section, changes=changes))


async def update_section(
    session: AsyncSession, row: Any, section: str, values: dict[str, Any], shown: dict[str, Any]
) -> None:
    """Apply `values` to `row`; if anything changed, announce the new values (`shown`, JSON) as user.updated."""
    diff = domain.changed({key: getattr(row, key) for key in values}, values)
    if not diff:
        return
    for key in diff:
        setattr(row, key, values[key])
    await session.flush()
    await emit_updated(session, row.user_id, section, {key: shown[key] for key in sorted(diff)})


async def notification_rows(
    session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False
) -> list[NotificationPreference]:
    query = (
        select(NotificationPreference)
        .where(NotificationPreference.user_id == user_id)
        .order_by(NotificationPreference.channel, NotificationPreference.category)
    )
    rows = list((await session.scalars(query.with_for_update() if lock else query)).all())
    if not rows:
        raise NotFound(NO_PROFILE)
    return rows


async def family_of(session: AsyncSession, user_id: uuid.UUID) -> list[FamilyMember]:
    """Live links where the user invited, was accepted, or is the pending invitee by their verified address."""
    query = (
        select(FamilyMember)
        .where(
            FamilyMember.status.in_(LIVE),
            or_(
                FamilyMember.inviter_user_id == user_id,
                FamilyMember.invitee_user_id == user_id,
                (FamilyMember.status == FamilyStatus.PENDING.value)
                & (FamilyMember.invitee_email == verified_email_of(user_id)),
            ),
        )
        .order_by(FamilyMember.created_at, FamilyMember.id)
    )
    return list((await session.scalars(query)).all())


async def family_row(session: AsyncSession, condition: ColumnElement[bool]) -> FamilyMember:
    """One family row matching the caller's ownership condition, locked; 404 for anyone else."""
    row = await session.scalar(select(FamilyMember).where(condition).with_for_update())
    if row is None:
        raise NotFound("Family invitation not found")
    return row


async def linked(session: AsyncSession, user_id: uuid.UUID, my_email: str, their_email: str) -> bool:
    """Whether a live link already joins the two, whichever of them invited."""
    mine = (FamilyMember.inviter_user_id == user_id) & (FamilyMember.invitee_email == their_email)
    theirs = (FamilyMember.invitee_email == my_email) & FamilyMember.inviter_user_id.in_(
        select(UserProfile.user_id).where(UserProfile.email == their_email)
    )
    found = await session.scalar(select(FamilyMember.id).where(FamilyMember.status.in_(LIVE), or_(mine, theirs)))
    return found is not None
