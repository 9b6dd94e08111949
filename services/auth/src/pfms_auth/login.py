"""Signing in: password step, optional TOTP/backup-code step, brute-force accounting around both.

A locked account or IP is refused before any password check, so a lock answers the same whether
the password is right or wrong. Failures count per account (keyed by the email, known or not) and
per client IP; the account's count is cleared only once the person is fully authenticated, so a
known password cannot be used to try second-factor codes without limit.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import accounts, audit, mfa_store, sessions, tokens
from pfms_auth.audit import Action
from pfms_auth.models import User
from pfms_auth.runtime import Runtime
from pfms_auth.throttle import account_key, ip_key
from pfms_platform.errors import Unauthorized
from pfms_platform.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Challenge:
    challenge: str
    expires_in: int


async def _guard(rt: Runtime, account: str, ip: str) -> None:
    retry = await rt.throttle.retry_after(account, ip)
    if retry is not None:
        raise accounts.locked(retry)


async def _failed(rt: Runtime, account: str, ip: str, message: str) -> Unauthorized:
    await rt.throttle.fail(account, rt.throttle.account)
    await rt.throttle.fail(ip, rt.throttle.ip)
    return Unauthorized(message, code="INVALID_CREDENTIALS")


async def password_step(
    db: AsyncSession, rt: Runtime, email: str, password: str, device: sessions.Device
) -> sessions.Issued | Challenge:
    account, ip = account_key(email), ip_key(device.ip or "unknown")
    await _guard(rt, account, ip)
    user = await accounts.authenticate(db, rt, email, password)
    if user is None:
        log.info("login failed")
        known = await db.scalar(select(User.id).where(User.email == email))
        if known is not None:  # the owner sees attempts on their account; unknown emails have no log
            await audit.record_failure(db, known, Action.LOGIN, device, reason="invalid_password")
        raise await _failed(rt, account, ip, "Invalid email or password")
    return await first_factor_passed(db, rt, user, device, "password")


async def first_factor_passed(
    db: AsyncSession, rt: Runtime, user: User, device: sessions.Device, method: str
) -> sessions.Issued | Challenge:
    """Tokens, or a second-factor challenge when the user enabled MFA (whatever the first factor was:
    password or identity provider)."""
    account = account_key(user.email)
    if await mfa_store.is_enabled(db, user.id):
        challenge = tokens.new_opaque_token()
        ttl = rt.settings.mfa_challenge_ttl_seconds
        await rt.throttle.put_challenge(challenge, {"user_id": str(user.id), "account": account}, ttl)
        return Challenge(challenge, ttl)
    return await _signed_in(db, rt, user, account, device, method)


async def mfa_step(
    db: AsyncSession, rt: Runtime, challenge: str, code: str, device: sessions.Device
) -> sessions.Issued:
    pending = await rt.throttle.take_challenge(challenge)
    if pending is None:
        raise Unauthorized("Invalid or expired MFA challenge", code="INVALID_CREDENTIALS")
    account, ip = pending["account"], ip_key(device.ip or "unknown")
    await _guard(rt, account, ip)
    user = await db.get(User, uuid.UUID(pending["user_id"]))
    if user is None or not user.is_active or not await mfa_store.verify(db, rt, user.id, code, device):
        log.info("mfa verification failed")
        if user is not None:
            await audit.record_failure(db, user.id, Action.LOGIN, device, reason="invalid_code", method="mfa")
        raise await _failed(rt, account, ip, "Invalid code; sign in again")
    return await _signed_in(db, rt, user, account, device, "mfa")


async def signed_in(db: AsyncSession, rt: Runtime, user: User, device: sessions.Device, method: str) -> sessions.Issued:
    """Open the session of a user fully authenticated by other means (a passkey)."""
    return await _signed_in(db, rt, user, account_key(user.email), device, method)


async def _signed_in(
    db: AsyncSession, rt: Runtime, user: User, account: str, device: sessions.Device, method: str
) -> sessions.Issued:
    await rt.throttle.clear(account)
    issued = await sessions.start(db, rt, user, device)
    await audit.record(db, user.id, Action.LOGIN, device, method=method, session_id=str(issued.session_id))
    log.info("user signed in", user_id=str(user.id), session_id=str(issued.session_id))
    return issued
