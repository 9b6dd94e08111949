"""Sessions and their refresh-token families: issue, rotate (with reuse detection), revoke, list."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import tokens
from pfms_auth.models import RefreshToken, Session, User
from pfms_auth.runtime import Runtime
from pfms_platform.db import utcnow
from pfms_platform.errors import Unauthorized
from pfms_platform.logging import get_logger

log = get_logger(__name__)

_USER_AGENT_MAX = 256


class RefreshReused(Exception):
    """A rotated refresh token came back: someone holds a copy, so the whole family was revoked."""

    def __init__(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        super().__init__("refresh token reused")
        self.user_id = user_id
        self.session_id = session_id


@dataclass(frozen=True)
class Issued:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: uuid.UUID


@dataclass(frozen=True)
class Device:
    ip: str | None
    user_agent: str


async def start(db: AsyncSession, rt: Runtime, user: User, device: Device) -> Issued:
    """Open a session for `user` (fully authenticated by now) and hand out its first tokens."""
    now = utcnow()
    row = Session(
        id=uuid.uuid4(),
        user_id=user.id,
        device_info={"user_agent": device.user_agent[:_USER_AGENT_MAX]},
        ip_address=device.ip,
        expires_at=now + rt.refresh_ttl,
        last_accessed=now,
    )
    db.add(row)
    await db.flush()  # the refresh token row refers to it
    user.last_login = now
    return await _issue(db, rt, row, now, user.roles)


async def rotate(db: AsyncSession, rt: Runtime, presented: str) -> Issued:
    """Trade a refresh token for a new pair. Raises `RefreshReused` after revoking the family when the
    token was already used (the caller must let that revocation commit), `Unauthorized` otherwise."""
    now = utcnow()
    token = await db.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(presented)).with_for_update()
    )
    if token is None:
        raise Unauthorized("Invalid refresh token")
    family = await db.scalar(select(Session).where(Session.id == token.session_id).with_for_update())
    assert family is not None  # refresh_tokens.session_id is a foreign key
    if family.revoked_at is not None or family.expires_at <= now:
        raise Unauthorized("Session ended")
    if token.used_at is not None:
        _revoke(family, now, "refresh_reuse")
        log.warning("refresh token reuse: session revoked", user_id=str(family.user_id), session_id=str(family.id))
        raise RefreshReused(family.user_id, family.id)
    if token.expires_at <= now:
        raise Unauthorized("Refresh token expired")
    user = await db.get(User, family.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Invalid refresh token")
    token.used_at = now
    family.last_accessed = now
    family.expires_at = now + rt.refresh_ttl
    return await _issue(db, rt, family, now, user.roles)  # read again: a revoked role is gone from here on


async def active(db: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """Whether an access token's session still stands (auth's own routes honour revocation at once)."""
    found = await db.scalar(
        select(Session.id)
        .join(User, User.id == Session.user_id)
        .where(
            Session.id == session_id,
            Session.user_id == user_id,
            Session.revoked_at.is_(None),
            Session.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    )
    return found is not None


async def list_active(db: AsyncSession, user_id: uuid.UUID) -> list[Session]:
    rows = await db.scalars(
        select(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None), Session.expires_at > utcnow())
        .order_by(Session.last_accessed.desc())
    )
    return list(rows)


async def revoke_one(db: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID, reason: str) -> bool:
    """Revoke one of the user's own sessions; False when there is no such active session of theirs."""
    result = await db.execute(
        update(Session)
        .where(Session.id == session_id, Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .returning(Session.id)
    )
    return result.first() is not None


async def revoke_all(db: AsyncSession, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None) -> None:
    """Revoke every active session of the user, except `keep` (the caller's, after a password change)."""
    query = update(Session).where(Session.user_id == user_id, Session.revoked_at.is_(None))
    if keep is not None:
        query = query.where(Session.id != keep)
    await db.execute(query.values(revoked_at=utcnow(), revoked_reason=reason))


def _revoke(family: Session, now: datetime, reason: str) -> None:
    family.revoked_at = now
    family.revoked_reason = reason


async def _issue(db: AsyncSession, rt: Runtime, family: Session, now: datetime, roles: list[str]) -> Issued:
    refresh = tokens.new_opaque_token()
    db.add(RefreshToken(session_id=family.id, token_hash=tokens.digest(refresh), expires_at=now + rt.refresh_ttl))
    key = await rt.keys.signing_key(db)
    claims = tokens.access_claims(rt.access_spec, family.user_id, family.id, now, roles)
    return Issued(
        access_token=tokens.sign(claims, key.private_key, key.kid),
        refresh_token=refresh,
        expires_in=rt.access_spec.ttl_seconds,
        refresh_expires_in=int(rt.refresh_ttl / timedelta(seconds=1)),
        session_id=family.id,
    )
