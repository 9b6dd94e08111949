"""Route dependencies: the runtime, the calling session, the client's address and device."""

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from pfms_auth import sessions
from pfms_auth.models import User
from pfms_auth.runtime import Runtime
from pfms_platform.db import Session
from pfms_platform.errors import Unauthorized
from pfms_platform.ratelimit import enforce_user_limit
from pfms_platform.security import Claims


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


Rt = Annotated[Runtime, Depends(_runtime)]


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    session_id: uuid.UUID


async def _caller(request: Request, claims: Claims, db: Session) -> Caller:
    """The verified access token's user and session; a revoked session is refused at once, not at expiry."""
    try:
        caller = Caller(uuid.UUID(claims["sub"]), uuid.UUID(str(claims.get("sid"))))
    except ValueError as exc:
        raise Unauthorized("Token has no session") from exc
    if not await sessions.active(db, caller.user_id, caller.session_id):
        raise Unauthorized("Session revoked or expired")
    await enforce_user_limit(request, caller.user_id)
    return caller


CurrentCaller = Annotated[Caller, Depends(_caller)]


async def _current_user(caller: CurrentCaller, db: Session) -> User:
    user = await db.get(User, caller.user_id)
    if user is None:
        raise Unauthorized("Session revoked or expired")
    return user


CurrentUser = Annotated[User, Depends(_current_user)]


def client_ip(request: Request) -> str | None:
    """The last X-Forwarded-For hop (the one the gateway appended: earlier ones are the client's to
    forge), else the peer address."""
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    candidates = [forwarded.rsplit(",", 1)[-1].strip()] if forwarded else []
    candidates.append(request.client.host if request.client else "")
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def device(request: Request) -> sessions.Device:
    return sessions.Device(ip=client_ip(request), user_agent=request.headers.get("user-agent", ""))


ClientDevice = Annotated[sessions.Device, Depends(device)]
