"""HTTP routes of passkeys: ceremonies (registration, sign-in) and the caller's passkeys (rules in `passkeys.py`)."""

import uuid
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter

from pfms_auth import passkeys
from pfms_auth.deps import ClientDevice, CurrentUser, Rt
from pfms_auth.models import Passkey
from pfms_auth.schemas import (
    CeremonyOut,
    Message,
    PasskeyLogin,
    PasskeyLoginOptions,
    PasskeyOut,
    PasskeyRegister,
    PasskeyRename,
    TokenPair,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import ErrorEnvelope

router = APIRouter(prefix="/api/v1/auth/passkeys", tags=["auth"])


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"description": HTTPStatus(s).phrase, "model": ErrorEnvelope} for s in statuses}


def _out(row: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=row.id,
        name=row.name,
        transports=row.transports,
        backed_up=row.backed_up,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _ceremony(made: passkeys.Ceremony) -> dict[str, Any]:
    return ok(CeremonyOut(ceremony=made.ceremony, options=made.options, expires_in=made.expires_in))


@router.post(
    "/register/options",
    response_model=Envelope[CeremonyOut],
    responses=_errors(409),
    summary="Start registering a passkey",
)
async def register_options(user: CurrentUser, db: Session, rt: Rt) -> dict[str, Any]:
    return _ceremony(await passkeys.registration_options(db, rt, user))


@router.post(
    "/register/verify",
    status_code=201,
    response_model=Envelope[PasskeyOut],
    responses=_errors(409),
    summary="Finish registering a passkey",
)
async def register_verify(
    body: PasskeyRegister, user: CurrentUser, db: Session, rt: Rt, device: ClientDevice
) -> dict[str, Any]:
    return ok(_out(await passkeys.register(db, rt, user, body.ceremony, body.credential, body.name, device)))


@router.post("/login/options", response_model=Envelope[CeremonyOut], summary="Start signing in with a passkey")
async def login_options(body: PasskeyLoginOptions, db: Session, rt: Rt) -> dict[str, Any]:
    """Passwordless (no body field), or the second factor of a sign-in (`mfa_challenge`)."""
    return _ceremony(await passkeys.authentication_options(db, rt, body.mfa_challenge))


@router.post("/login/verify", response_model=Envelope[TokenPair], summary="Finish signing in with a passkey")
async def login_verify(body: PasskeyLogin, db: Session, rt: Rt, device: ClientDevice) -> dict[str, Any]:
    issued = await passkeys.authenticate(db, rt, body.ceremony, body.credential, device)
    return ok(
        TokenPair(
            access_token=issued.access_token,
            expires_in=issued.expires_in,
            refresh_token=issued.refresh_token,
            refresh_expires_in=issued.refresh_expires_in,
            session_id=issued.session_id,
        )
    )


@router.get("", response_model=Envelope[list[PasskeyOut]], summary="The caller's passkeys")
async def list_passkeys(user: CurrentUser, db: Session) -> dict[str, Any]:
    return ok([_out(row) for row in await passkeys.listed(db, user.id)])


@router.patch("/{passkey_id}", response_model=Envelope[PasskeyOut], summary="Rename a passkey")
async def rename_passkey(passkey_id: uuid.UUID, body: PasskeyRename, user: CurrentUser, db: Session) -> dict[str, Any]:
    return ok(_out(await passkeys.rename(db, user.id, passkey_id, body.name)))


@router.delete(
    "/{passkey_id}",
    response_model=Envelope[Message],
    responses=_errors(409),
    summary="Remove a passkey (refused when it is the last way to sign in)",
)
async def remove_passkey(passkey_id: uuid.UUID, user: CurrentUser, db: Session, device: ClientDevice) -> dict[str, Any]:
    await passkeys.remove(db, user, passkey_id, device)
    return ok(Message(message="Passkey removed"))
