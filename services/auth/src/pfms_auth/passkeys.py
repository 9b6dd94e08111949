"""Passkeys (WebAuthn) with the `webauthn` package: registration and authentication ceremonies,
passwordless or as the second factor of a sign-in; several per user, renamed and removed by them.

Each ceremony's challenge lives in Redis (single use, `passkey_challenge_ttl_seconds`) under a
random handle the client sends back; the RP id and allowed origins come from settings. `webauthn`
checks the signature, challenge, origin, RP id hash, flags and that the sign count grew (a count that
did not grow betrays a cloned authenticator: refused).
"""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from pfms_auth import accounts, audit, login, sessions, signin
from pfms_auth.audit import Action
from pfms_auth.models import Passkey, User
from pfms_auth.runtime import Runtime
from pfms_auth.throttle import ip_key
from pfms_platform.db import utcnow
from pfms_platform.errors import AppError, Conflict, NotFound, Unauthorized
from pfms_platform.logging import get_logger

log = get_logger(__name__)

REGISTER = "passkey-register"
AUTHENTICATE = "passkey-login"


class InvalidPasskey(AppError):
    """A registration the authenticator's answer does not support (challenge, origin, RP id, format)."""

    status_code = 400
    code = "INVALID_PASSKEY"


@dataclass(frozen=True)
class Ceremony:
    ceremony: str
    options: dict[str, Any]
    expires_in: int


_TRANSPORTS = {t.value for t in AuthenticatorTransport}


def _descriptor(row: Passkey) -> PublicKeyCredentialDescriptor:
    transports = [AuthenticatorTransport(t) for t in row.transports if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=row.credential_id, transports=transports or None)


def _options(options: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


async def _of_user(db: AsyncSession, user_id: uuid.UUID) -> list[Passkey]:
    rows = await db.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at))
    return list(rows)


def _within_limit(rt: Runtime, existing: list[Passkey]) -> None:
    if len(existing) >= rt.settings.passkeys_per_user:
        raise Conflict(f"At most {rt.settings.passkeys_per_user} passkeys per account", code="PASSKEY_LIMIT")


async def registration_options(db: AsyncSession, rt: Runtime, user: User) -> Ceremony:
    """Options for navigator.credentials.create(): a discoverable credential (usable without typing
    the email), the user's existing passkeys excluded so one authenticator is not registered twice."""
    existing = await _of_user(db, user.id)
    _within_limit(rt, existing)
    s = rt.settings
    options = generate_registration_options(
        rp_id=s.webauthn_rp_id,
        rp_name=s.webauthn_rp_name,
        user_id=user.id.bytes,
        user_name=user.email,
        user_display_name=user.email,
        timeout=s.passkey_challenge_ttl_seconds * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(row) for row in existing],
    )
    pending = {"user_id": str(user.id), "challenge": bytes_to_base64url(options.challenge)}
    handle = await rt.once.put(REGISTER, pending, s.passkey_challenge_ttl_seconds)
    return Ceremony(handle, _options(options), s.passkey_challenge_ttl_seconds)


async def register(
    db: AsyncSession,
    rt: Runtime,
    user: User,
    ceremony: str,
    credential: dict[str, Any],
    name: str | None,
    device: sessions.Device,
) -> Passkey:
    pending = await rt.once.take(REGISTER, ceremony)
    if pending is None or pending["user_id"] != str(user.id):
        raise InvalidPasskey("Unknown or expired ceremony; ask for new options", field="ceremony")
    s = rt.settings
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(pending["challenge"]),
            expected_rp_id=s.webauthn_rp_id,
            expected_origin=s.webauthn_origins,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:  # malformed JSON parts fail as these
        raise InvalidPasskey(f"The passkey was not accepted: {exc}", field="credential") from exc
    if await db.scalar(select(Passkey.id).where(Passkey.credential_id == verified.credential_id)) is not None:
        raise Conflict("This passkey is already registered", code="PASSKEY_EXISTS")
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    existing = await _of_user(db, user.id)
    _within_limit(rt, existing)  # again: several ceremonies may have been started at once
    row = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[t for t in transports if isinstance(t, str) and len(t) <= 20][:8]
        if isinstance(transports, list)
        else [],
        name=name or f"Passkey {len(existing) + 1}",
        backed_up=verified.credential_backed_up,
    )
    db.add(row)
    await db.flush()
    await audit.record(db, user.id, Action.PASSKEY_ADDED, device, passkey_id=str(row.id))
    log.info("passkey registered", user_id=str(user.id), passkey_id=str(row.id))
    return row


async def authentication_options(db: AsyncSession, rt: Runtime, mfa_challenge: str | None) -> Ceremony:
    """Options for navigator.credentials.get(). Passwordless: any discoverable passkey of this RP,
    nothing said about which accounts exist. Second factor (`mfa_challenge` from a password or
    provider sign-in): that user's passkeys only."""
    s = rt.settings
    user_id: str | None = None
    allowed: list[PublicKeyCredentialDescriptor] = []
    if mfa_challenge is not None:
        pending = await rt.throttle.peek_challenge(mfa_challenge)
        if pending is None:
            raise Unauthorized("Invalid or expired MFA challenge", code="INVALID_CREDENTIALS")
        user_id = pending["user_id"]
        allowed = [_descriptor(row) for row in await _of_user(db, uuid.UUID(pending["user_id"]))]
    options = generate_authentication_options(
        rp_id=s.webauthn_rp_id,
        timeout=s.passkey_challenge_ttl_seconds * 1000,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.PREFERRED
        if mfa_challenge
        else UserVerificationRequirement.REQUIRED,
    )
    pending_ceremony = {
        "challenge": bytes_to_base64url(options.challenge),
        "user_id": user_id,
        "mfa_challenge": mfa_challenge,
    }
    handle = await rt.once.put(AUTHENTICATE, pending_ceremony, s.passkey_challenge_ttl_seconds)
    return Ceremony(handle, _options(options), s.passkey_challenge_ttl_seconds)


async def authenticate(
    db: AsyncSession, rt: Runtime, ceremony: str, credential: dict[str, Any], device: sessions.Device
) -> sessions.Issued:
    """Tokens for a verified assertion. Passwordless needs user verification (PIN, biometric): the
    passkey is then both factors, so TOTP is not asked on top. Failures count toward the IP's lockout."""
    ip = ip_key(device.ip or "unknown")
    retry = await rt.throttle.retry_after(ip)
    if retry is not None:
        raise accounts.locked(retry)
    pending = await rt.once.take(AUTHENTICATE, ceremony)
    if pending is None:
        raise Unauthorized("Unknown or expired ceremony; ask for new options", code="INVALID_CREDENTIALS")
    second_factor = pending["mfa_challenge"] is not None
    row, user = await _verified(db, rt, pending, credential, require_uv=not second_factor)
    if row is None or user is None:
        await rt.throttle.fail(ip, rt.throttle.ip)
        if user is not None:
            await audit.record_failure(db, user.id, Action.LOGIN, device, reason="invalid_passkey", method="passkey")
        raise Unauthorized("The passkey was not accepted", code="INVALID_CREDENTIALS")
    if second_factor:
        taken = await rt.throttle.take_challenge(pending["mfa_challenge"])
        if taken is None or taken["user_id"] != str(user.id):
            raise Unauthorized("Invalid or expired MFA challenge", code="INVALID_CREDENTIALS")
    return await login.signed_in(db, rt, user, device, "mfa:passkey" if second_factor else "passkey")


async def _verified(
    db: AsyncSession, rt: Runtime, pending: dict[str, Any], credential: dict[str, Any], *, require_uv: bool
) -> tuple[Passkey | None, User | None]:
    """The passkey and its (active) user when the assertion stands, else (None, the user if known).
    The stored sign count moves forward in the same transaction as the sign-in."""
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, TypeError, KeyError):
        return None, None
    row = await db.scalar(select(Passkey).where(Passkey.credential_id == parsed.raw_id).with_for_update())
    if row is None:
        return None, None
    user = await db.get(User, row.user_id)
    if user is None or not user.is_active or (pending["user_id"] is not None and pending["user_id"] != str(user.id)):
        return None, None
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(pending["challenge"]),
            expected_rp_id=rt.settings.webauthn_rp_id,
            expected_origin=rt.settings.webauthn_origins,
            credential_public_key=row.public_key,
            credential_current_sign_count=row.sign_count,
            require_user_verification=require_uv,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        log.info("passkey assertion refused", user_id=str(user.id), passkey_id=str(row.id), reason=str(exc))
        return None, user
    row.sign_count = verified.new_sign_count
    row.last_used_at = utcnow()
    return row, user


async def listed(db: AsyncSession, user_id: uuid.UUID) -> list[Passkey]:
    return await _of_user(db, user_id)


async def _own(db: AsyncSession, user_id: uuid.UUID, passkey_id: uuid.UUID) -> Passkey:
    row = await db.scalar(select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id).with_for_update())
    if row is None:
        raise NotFound("Passkey not found")
    return row


async def rename(db: AsyncSession, user_id: uuid.UUID, passkey_id: uuid.UUID, name: str) -> Passkey:
    row = await _own(db, user_id, passkey_id)
    row.name = name
    return row


async def remove(db: AsyncSession, user: User, passkey_id: uuid.UUID, device: sessions.Device) -> None:
    """Refused when it would leave no way in (no password, no provider, no other passkey)."""
    row = await _own(db, user.id, passkey_id)
    await signin.require_another_way(db, user, passkey=row.id)
    await db.delete(row)
    await audit.record(db, user.id, Action.PASSKEY_REMOVED, device, passkey_id=str(row.id))
