"""Account lifecycle: registration, credentials, email verification, password reset/change, deletion.

Each change and the event announcing it are written in the caller's transaction (outbox).
Where an answer could reveal whether an email is registered, both cases do the same work.
"""

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import audit, mfa_store, passwords, sessions, tokens
from pfms_auth.audit import Action
from pfms_auth.models import EmailVerificationToken, PasswordResetToken, User
from pfms_auth.models import Session as SessionRow
from pfms_auth.runtime import Runtime
from pfms_auth.throttle import account_key
from pfms_contracts.identity import EmailVerificationRequested, PasswordResetRequested, UserCreated, UserDeleted
from pfms_contracts.verification import EmailVerified
from pfms_platform.db import utcnow
from pfms_platform.errors import AppError, Conflict, Forbidden, Invalid, TooManyRequests
from pfms_platform.events.outbox import emit
from pfms_platform.events.tables import OutboxEvent
from pfms_platform.logging import get_logger

log = get_logger(__name__)


class InvalidToken(AppError):
    """A reset or verification token that is unknown, used or expired (all look the same)."""

    status_code = 400
    code = "INVALID_TOKEN"


def locked(retry_after: int) -> TooManyRequests:
    return TooManyRequests("Too many failed attempts; try again later", headers={"Retry-After": str(retry_after)})


def enforce_policy(password: str, email: str, field: str) -> None:
    for problem in passwords.problems(password, email):
        raise Invalid(f"Password {problem}", field=field)


async def hash_password(rt: Runtime, password: str) -> str:
    """argon2 off the event loop (it releases the GIL, so other requests keep flowing)."""
    return await asyncio.to_thread(rt.hasher.hash, password)


async def password_matches(rt: Runtime, stored: str | None, password: str) -> bool:
    """Always spends one verification, against a dummy hash when there is nothing to compare with."""
    matches = await asyncio.to_thread(rt.hasher.verify, stored or rt.hasher.dummy_hash, password)
    return matches and stored is not None


async def register(db: AsyncSession, rt: Runtime, email: str, password: str) -> uuid.UUID | None:
    """Create the account, or do nothing (after hashing all the same) when the email is taken."""
    enforce_policy(password, email, "password")
    hashed = await hash_password(rt, password)
    user = await db.scalar(
        insert(User)
        .values(id=uuid.uuid4(), email=email, password_hash=hashed)
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User)
    )
    if user is None:
        return None
    await emit(db, UserCreated(user_id=user.id, email=email, email_verified=False, created_at=user.created_at))
    await request_verification(db, rt, user)
    log.info("user registered", user_id=str(user.id))
    return user.id


async def create_verified(db: AsyncSession, email: str) -> User | None:
    """An account without a password, for a person an identity provider vouched for (their email
    verified there); None when the email is taken meanwhile."""
    user = await db.scalar(
        insert(User)
        .values(id=uuid.uuid4(), email=email, password_hash=None, email_verified=True)
        .on_conflict_do_nothing(index_elements=[User.email])
        .returning(User)
    )
    if user is not None:
        await emit(db, UserCreated(user_id=user.id, email=email, email_verified=True, created_at=user.created_at))
        log.info("user registered through an identity provider", user_id=str(user.id))
    return user


async def authenticate(db: AsyncSession, rt: Runtime, email: str, password: str) -> User | None:
    """The user when the password is right; None for a wrong password or an unknown email alike.
    Upgrades the stored hash when the configured argon2 parameters have grown."""
    user = await db.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.is_active else None
    if not await password_matches(rt, stored, password):
        return None
    assert user is not None and user.password_hash is not None
    if rt.hasher.needs_rehash(user.password_hash):
        user.password_hash = await hash_password(rt, password)
    return user


async def reauthenticate(
    db: AsyncSession,
    rt: Runtime,
    user: User,
    password: str,
    code: str | None,
    *,
    action: Action,
    device: sessions.Device,
    second_factor: bool = True,
) -> None:
    """Sensitive changes ask for the password again (and the second factor, when enabled); failures
    count toward the same lockout as logins, so a stolen access token cannot guess the password,
    and go in the audit log under the `action` they tried."""
    key = account_key(user.email)
    retry = await rt.throttle.retry_after(key)
    if retry is not None:
        raise locked(retry)
    proven = await password_matches(rt, user.password_hash, password)
    if proven and second_factor and await mfa_store.is_enabled(db, user.id):
        proven = code is not None and await mfa_store.verify(db, rt, user.id, code, device)
    if not proven:
        await rt.throttle.fail(key, rt.throttle.account)
        await audit.record_failure(db, user.id, action, device, reason="invalid_credentials")
        raise Forbidden("Password or code is incorrect", code="INVALID_CREDENTIALS")


async def request_verification(db: AsyncSession, rt: Runtime, user: User) -> None:
    token = tokens.new_opaque_token()
    expires_at = utcnow() + timedelta(hours=rt.settings.email_verification_ttl_hours)
    db.add(
        EmailVerificationToken(
            user_id=user.id, email=user.email, token_hash=tokens.digest(token), expires_at=expires_at
        )
    )
    await emit(db, EmailVerificationRequested(user_id=user.id, email=user.email, token=token, expires_at=expires_at))


async def verify_email(db: AsyncSession, token: str) -> None:
    row = await db.scalar(
        select(EmailVerificationToken)
        .where(EmailVerificationToken.token_hash == tokens.digest(token))
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidToken("Invalid or expired verification token", field="token")
    row.used_at = utcnow()
    await mark_verified(db, row.user_id, row.email)


async def mark_verified(db: AsyncSession, user_id: uuid.UUID, email: str) -> None:
    """Set the flag while `email` is still the user's address and announce it (`user.email_verified`)
    once, on the change: the services that trust an address (invitations) only learn it this way."""
    now = utcnow()
    unverified = (User.id == user_id) & (User.email == email) & User.email_verified.is_(False)
    changed = await db.scalar(update(User).where(unverified).values(email_verified=True).returning(User.id))
    if changed is not None:
        await emit(db, EmailVerified(user_id=user_id, email=email, verified_at=now))
        log.info("email verified", user_id=str(user_id))


async def request_password_reset(db: AsyncSession, rt: Runtime, email: str) -> None:
    """Mail a reset link to a registered, active address; anything else silently gets nothing."""
    user = await db.scalar(select(User).where(User.email == email, User.is_active.is_(True)))
    if user is None:
        return
    now = utcnow()
    await db.execute(  # only the newest link works
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    token = tokens.new_opaque_token()
    expires_at = now + timedelta(minutes=rt.settings.password_reset_ttl_minutes)
    db.add(PasswordResetToken(user_id=user.id, token_hash=tokens.digest(token), expires_at=expires_at))
    await emit(db, PasswordResetRequested(user_id=user.id, email=user.email, token=token, expires_at=expires_at))


async def reset_password(db: AsyncSession, rt: Runtime, token: str, new_password: str, device: sessions.Device) -> None:
    """Single use; signs the user out everywhere. The link proves the mailbox, so the email is verified."""
    row = await db.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == tokens.digest(token)).with_for_update()
    )
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidToken("Invalid or expired reset token", field="token")
    user = await db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("Invalid or expired reset token", field="token")
    enforce_policy(new_password, user.email, "new_password")
    user.password_hash = await hash_password(rt, new_password)
    row.used_at = now
    await mark_verified(db, user.id, user.email)
    await sessions.revoke_all(db, user.id, "password_reset")
    await audit.record(db, user.id, Action.PASSWORD_RESET, device)
    await rt.throttle.clear(account_key(user.email))
    log.info("password reset", user_id=str(user.id))


async def change_password(
    db: AsyncSession, rt: Runtime, user: User, current: str, new: str, keep_session: uuid.UUID, device: sessions.Device
) -> None:
    """Signs out every other session; outstanding reset links stop working."""
    action = Action.PASSWORD_CHANGED
    await reauthenticate(db, rt, user, current, None, action=action, device=device, second_factor=False)
    enforce_policy(new, user.email, "new_password")
    user.password_hash = await hash_password(rt, new)
    await db.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    await sessions.revoke_all(db, user.id, "password_changed", keep=keep_session)
    await audit.record(db, user.id, action, device)
    log.info("password changed", user_id=str(user.id))


async def set_password(
    db: AsyncSession, rt: Runtime, user: User, session_id: uuid.UUID, new: str, device: sessions.Device
) -> None:
    """A first password for an account without one (made by an identity provider, or kept with
    passkeys only). There is no current password to confirm, so the calling session must have begun
    within `reauth_max_age_seconds`: an older one signs in again (provider or passkey) first.
    Refreshing a session does not make it recent."""
    if user.password_hash is not None:
        raise Conflict("The account has a password: change it with password/change", code="PASSWORD_ALREADY_SET")
    began = await db.scalar(select(SessionRow.created_at).where(SessionRow.id == session_id))
    if began is None or utcnow() - began > timedelta(seconds=rt.settings.reauth_max_age_seconds):
        raise Forbidden("Sign in again (identity provider or passkey) to set a password", code="REAUTH_REQUIRED")
    enforce_policy(new, user.email, "new_password")
    hashed = await hash_password(rt, new)
    unset = (User.id == user.id) & User.password_hash.is_(None)  # two requests at once: only one sets it
    first = await db.scalar(update(User).where(unset).values(password_hash=hashed).returning(User.id))
    if first is None:
        raise Conflict("The account has a password: change it with password/change", code="PASSWORD_ALREADY_SET")
    await audit.record(db, user.id, Action.PASSWORD_SET, device)
    log.info("password set", user_id=str(user.id))


async def delete_account(
    db: AsyncSession, rt: Runtime, user: User, password: str, code: str | None, device: sessions.Device
) -> None:
    """Delete every auth row of the user (foreign keys cascade, the audit log included: only refused
    attempts stay in it, while the account stands) and tell the fleet to purge theirs. The person's
    past events leave the outbox too: they carry the email and the mail tokens in clear (one not yet
    sent is moot for a deleted account)."""
    await reauthenticate(db, rt, user, password, code, action=Action.ACCOUNT_DELETION_REQUESTED, device=device)
    await db.execute(delete(OutboxEvent).where(OutboxEvent.payload["subject"].astext == str(user.id)))
    await emit(db, UserDeleted(user_id=user.id, deleted_at=utcnow()))
    await db.execute(delete(User).where(User.id == user.id))
    await rt.throttle.clear(account_key(user.email))
    log.info("account deleted", user_id=str(user.id))
