"""HTTP routes of the auth service: parse, authorise, call the domain, shape the envelope."""

import uuid
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from pfms_auth import accounts, audit, login, mfa_store, sessions
from pfms_auth.audit import Action, Outcome
from pfms_auth.deps import ClientDevice, CurrentCaller, CurrentUser, Rt
from pfms_auth.keystore import published_jwks
from pfms_auth.schemas import (
    AuditEventOut,
    BackupCodes,
    CodeRequest,
    Credentials,
    ForgotRequest,
    LoginResult,
    Message,
    MfaChallenge,
    MfaSetupOut,
    MfaVerifyRequest,
    PasswordAndCode,
    PasswordChange,
    PasswordSet,
    RefreshRequest,
    ResetRequest,
    SessionOut,
    TokenPair,
    TokenRequest,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, PageEnvelope, PageParams, ok, paged
from pfms_platform.errors import Conflict, ErrorEnvelope, NotFound, error_response

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
jwks_router = APIRouter(tags=["auth"])

REGISTERED = "Registration received. If the address is new, a verification link is on its way."
RESET_REQUESTED = "If the address belongs to an account, a reset link is on its way."


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers beyond the fleet's defaults, documented in OpenAPI."""
    return {s: {"description": HTTPStatus(s).phrase, "model": ErrorEnvelope} for s in statuses}


def _pair(issued: sessions.Issued) -> TokenPair:
    return TokenPair(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        refresh_expires_in=issued.refresh_expires_in,
        session_id=issued.session_id,
    )


def _message(text: str) -> dict[str, Any]:
    return ok(Message(message=text))


@router.post("/register", status_code=202, response_model=Envelope[Message], summary="Create an account")
async def register(body: Credentials, db: Session, rt: Rt) -> dict[str, Any]:
    """Same answer whether or not the email is registered; only a new one gets an account and events."""
    await accounts.register(db, rt, body.email, body.password)
    return _message(REGISTERED)


@router.post("/login", response_model=Envelope[LoginResult], summary="Sign in with email and password")
async def login_(body: Credentials, db: Session, rt: Rt, device: ClientDevice) -> dict[str, Any]:
    result = await login.password_step(db, rt, body.email, body.password, device)
    if isinstance(result, login.Challenge):
        return ok(MfaChallenge(challenge=result.challenge, expires_in=result.expires_in))
    return ok(_pair(result))


@router.post("/mfa/verify", response_model=Envelope[TokenPair], summary="Complete a sign-in with a second factor")
async def mfa_verify(body: MfaVerifyRequest, db: Session, rt: Rt, device: ClientDevice) -> dict[str, Any]:
    return ok(_pair(await login.mfa_step(db, rt, body.challenge, body.code, device)))


@router.post("/refresh", response_model=Envelope[TokenPair], summary="Rotate a refresh token")
async def refresh(body: RefreshRequest, db: Session, rt: Rt, device: ClientDevice) -> Any:
    try:
        return ok(_pair(await sessions.rotate(db, rt, body.refresh_token)))
    except sessions.RefreshReused as reused:
        # Returned, not raised: the revocation of the family (and its audit entry) must commit.
        revoked = {"session_id": str(reused.session_id), "reason": "refresh_reuse"}
        await audit.record(db, reused.user_id, Action.SESSION_REVOKED, device, **revoked)
        return error_response(
            401, "Refresh token already used; the session was revoked", headers={"WWW-Authenticate": "Bearer"}
        )


@router.post("/logout", response_model=Envelope[Message], summary="Revoke the current session")
async def logout(caller: CurrentCaller, db: Session, device: ClientDevice) -> dict[str, Any]:
    await sessions.revoke_one(db, caller.user_id, caller.session_id, "logout")
    await audit.record(db, caller.user_id, Action.LOGOUT, device, session_id=str(caller.session_id))
    return _message("Signed out")


@router.post("/logout-all", response_model=Envelope[Message], summary="Revoke every session of the caller")
async def logout_all(caller: CurrentCaller, db: Session, device: ClientDevice) -> dict[str, Any]:
    await sessions.revoke_all(db, caller.user_id, "logout_all")
    await audit.record(db, caller.user_id, Action.LOGOUT_ALL, device)
    return _message("Signed out everywhere")


@router.get("/sessions", response_model=Envelope[list[SessionOut]], summary="The caller's active sessions")
async def list_sessions(caller: CurrentCaller, db: Session) -> dict[str, Any]:
    rows = await sessions.list_active(db, caller.user_id)
    return ok(
        [
            SessionOut(
                id=row.id,
                current=row.id == caller.session_id,
                created_at=row.created_at,
                last_accessed=row.last_accessed,
                expires_at=row.expires_at,
                ip_address=str(row.ip_address) if row.ip_address is not None else None,
                user_agent=row.device_info.get("user_agent"),
            )
            for row in rows
        ]
    )


@router.delete("/sessions/{session_id}", response_model=Envelope[Message], summary="Revoke one session")
async def revoke_session(
    session_id: uuid.UUID, caller: CurrentCaller, db: Session, device: ClientDevice
) -> dict[str, Any]:
    if not await sessions.revoke_one(db, caller.user_id, session_id, "revoked_by_user"):
        raise NotFound("Session not found")
    await audit.record(
        db, caller.user_id, Action.SESSION_REVOKED, device, session_id=str(session_id), reason="revoked_by_user"
    )
    return _message("Session revoked")


@router.post(
    "/password/change", response_model=Envelope[Message], responses=_errors(403), summary="Change the password"
)
async def change_password(
    body: PasswordChange, user: CurrentUser, caller: CurrentCaller, db: Session, rt: Rt, device: ClientDevice
) -> dict[str, Any]:
    """Signs out every other session."""
    await accounts.change_password(db, rt, user, body.current_password, body.new_password, caller.session_id, device)
    return _message("Password changed")


@router.post(
    "/password/set",
    response_model=Envelope[Message],
    responses=_errors(403, 409),
    summary="Set a first password (an account made by an identity provider)",
)
async def set_password(
    body: PasswordSet, user: CurrentUser, caller: CurrentCaller, db: Session, rt: Rt, device: ClientDevice
) -> dict[str, Any]:
    """No current password to confirm: the calling session must be a recent sign-in instead."""
    await accounts.set_password(db, rt, user, caller.session_id, body.new_password, device)
    return _message("Password set")


@router.post("/password/forgot", status_code=202, response_model=Envelope[Message], summary="Ask for a reset link")
async def forgot_password(body: ForgotRequest, db: Session, rt: Rt) -> dict[str, Any]:
    if await rt.throttle.allow_mail(body.email, rt.settings.mail_window_seconds):
        await accounts.request_password_reset(db, rt, body.email)
    return _message(RESET_REQUESTED)


@router.post("/password/reset", response_model=Envelope[Message], summary="Set a new password with a reset token")
async def reset_password(body: ResetRequest, db: Session, rt: Rt, device: ClientDevice) -> dict[str, Any]:
    """Single use; signs the user out of every session."""
    await accounts.reset_password(db, rt, body.token, body.new_password, device)
    return _message("Password reset; sign in with the new password")


@router.post("/verify-email", response_model=Envelope[Message], summary="Confirm the email address")
async def verify_email(body: TokenRequest, db: Session) -> dict[str, Any]:
    await accounts.verify_email(db, body.token)
    return _message("Email verified")


@router.post(
    "/verify-email/resend",
    status_code=202,
    response_model=Envelope[Message],
    responses=_errors(409),
    summary="Send a new verification link",
)
async def resend_verification(user: CurrentUser, db: Session, rt: Rt) -> dict[str, Any]:
    if user.email_verified:
        raise Conflict("Email already verified")
    if await rt.throttle.allow_mail(user.email, rt.settings.mail_window_seconds):
        await accounts.request_verification(db, rt, user)
    return _message("A new verification link is on its way")


@router.post("/mfa/setup", response_model=Envelope[MfaSetupOut], responses=_errors(409), summary="Start TOTP enrolment")
async def mfa_setup(user: CurrentUser, db: Session, rt: Rt) -> dict[str, Any]:
    enrolment = await mfa_store.setup(db, rt, user.id, user.email)
    return ok(MfaSetupOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri))


@router.post(
    "/mfa/enable",
    response_model=Envelope[BackupCodes],
    responses=_errors(409),
    summary="Confirm TOTP enrolment with a code",
)
async def mfa_enable(body: CodeRequest, user: CurrentUser, db: Session, rt: Rt, device: ClientDevice) -> dict[str, Any]:
    """Returns the backup codes, once: only their digests are kept."""
    return ok(BackupCodes(backup_codes=await mfa_store.enable(db, rt, user.id, body.code, device)))


@router.post(
    "/mfa/disable",
    response_model=Envelope[Message],
    responses=_errors(403, 409),
    summary="Turn MFA off (password and code)",
)
async def mfa_disable(
    body: PasswordAndCode, user: CurrentUser, db: Session, rt: Rt, device: ClientDevice
) -> dict[str, Any]:
    await mfa_store.require_enabled(db, user.id)
    await accounts.reauthenticate(db, rt, user, body.password, body.code, action=Action.MFA_DISABLED, device=device)
    await mfa_store.disable(db, user.id, device)
    return _message("MFA disabled")


@router.delete(
    "/account",
    response_model=Envelope[Message],
    responses=_errors(403),
    summary="Delete the account and all its auth data",
)
async def delete_account(
    body: PasswordAndCode, user: CurrentUser, db: Session, rt: Rt, device: ClientDevice, request: Request
) -> dict[str, Any]:
    """Needs the password (and a code when MFA is on); publishes `user.deleted` so every service purges.
    The person's rate-limit counters in Redis go too."""
    await accounts.delete_account(db, rt, user, body.password, body.code, device)
    await request.app.state.rate_limiter.forget(user.id)
    return _message("Account deleted")


@router.get("/audit", response_model=PageEnvelope[AuditEventOut], summary="The caller's audit log, newest first")
async def audit_log(
    caller: CurrentCaller,
    db: Session,
    params: Annotated[PageParams, Depends()],
    action: Annotated[Action | None, Query(description="Only entries of this action")] = None,
) -> dict[str, Any]:
    """Sign-ins (and failed attempts), sign-outs, session revocations, MFA and password changes,
    refused deletion attempts and data exports of the caller's own account."""
    rows, total = await audit.page(db, caller.user_id, action, params.offset, params.limit)
    items = [
        AuditEventOut(
            id=row.id,
            at=row.at,
            action=Action(row.action),
            outcome=Outcome(row.outcome),
            ip_address=str(row.ip) if row.ip is not None else None,
            user_agent=row.user_agent,
            details=row.details,
        )
        for row in rows
    ]
    return paged(items, params, total)


@jwks_router.get("/.well-known/jwks.json", summary="Public keys that verify access tokens (current and previous)")
async def jwks(db: Session) -> JSONResponse:
    return JSONResponse(await published_jwks(db))
