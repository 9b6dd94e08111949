"""HTTP routes of sign-in with identity providers and of linked providers (rules in `oauth.py`)."""

from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from pfms_auth import login, oauth, sessions
from pfms_auth.deps import ClientDevice, CurrentUser, Rt
from pfms_auth.models import OAuthProvider
from pfms_auth.providers import ProviderRefused
from pfms_auth.schemas import (
    AuthorizeOut,
    LinkConfirm,
    LinkedProviderOut,
    LinkRequiredOut,
    Message,
    MfaChallenge,
    OAuthResult,
    TokenPair,
)
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.errors import ErrorEnvelope

router = APIRouter(prefix="/api/v1/auth/oauth", tags=["auth"])

BINDING_COOKIE = "pfms_oauth"
_COOKIE_PATH = "/api/v1/auth/oauth"


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error answers beyond the fleet's defaults, documented in OpenAPI."""
    return {s: {"description": HTTPStatus(s).phrase, "model": ErrorEnvelope} for s in statuses}


_REDIRECT: dict[int | str, dict[str, Any]] = {302: {"description": "To the provider (with `redirect=true`)"}}


def _linked(row: OAuthProvider) -> LinkedProviderOut:
    return LinkedProviderOut(
        provider=row.provider, email=row.email, linked_at=row.created_at, last_used_at=row.last_used_at
    )


def _started(rt: Rt, provider: str, started: oauth.Started, redirect: bool) -> Any:
    """JSON with the URL (for apps) or a 302 to it (for a browser), with the binding cookie either way.
    A provider that posts back (form_post) makes a cross-site POST, which a SameSite=Lax cookie does
    not ride: its cookie is SameSite=None, hence Secure (browsers accept that on http://localhost too)."""
    posts_back = rt.providers.posts_back(provider)
    body = AuthorizeOut(authorization_url=started.url, expires_in=started.expires_in)
    response: JSONResponse | RedirectResponse = (
        RedirectResponse(started.url, status_code=302) if redirect else JSONResponse(ok(body.model_dump()))
    )
    response.set_cookie(
        BINDING_COOKIE,
        started.binding,
        max_age=started.expires_in,
        path=_COOKIE_PATH,
        httponly=True,
        secure=posts_back or rt.settings.environment == "production",
        samesite="none" if posts_back else "lax",
    )
    return response


@router.get(
    "/{provider}/authorize",
    response_model=Envelope[AuthorizeOut],
    responses=_REDIRECT,
    summary="Start signing in with an identity provider",
)
async def authorize(
    provider: str,
    rt: Rt,
    redirect: Annotated[bool, Query(description="Answer 302 to the provider instead of JSON")] = False,
) -> Any:
    """Sets an HttpOnly cookie the callback needs: the flow must end in the browser that started it."""
    return _started(rt, provider, await oauth.start(rt, provider), redirect)


@router.post(
    "/{provider}/link",
    response_model=Envelope[AuthorizeOut],
    responses=_REDIRECT,
    summary="Start linking an identity provider to the signed-in account",
)
async def start_link(
    provider: str,
    user: CurrentUser,
    rt: Rt,
    redirect: Annotated[bool, Query(description="Answer 302 to the provider instead of JSON")] = False,
) -> Any:
    return _started(rt, provider, await oauth.start(rt, provider, link_user=user.id), redirect)


@router.get(
    "/{provider}/callback",
    response_model=Envelope[OAuthResult],
    responses=_errors(403, 409),
    summary="Where the provider sends the browser back",
)
async def callback(
    provider: str,
    request: Request,
    db: Session,
    rt: Rt,
    device: ClientDevice,
    state: Annotated[str, Query(min_length=1, max_length=512)],
    code: Annotated[str | None, Query(min_length=1, max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> dict[str, Any]:
    """Tokens (or an MFA challenge) for a sign-in; a link token when the email has an account that
    must confirm; the linked provider when the flow was started by `link`. State and code work once."""
    return await _finish(provider, request, db, rt, device, state, code, error)


@router.post(
    "/{provider}/callback",
    response_model=Envelope[OAuthResult],
    responses=_errors(403, 409),
    summary="Where a form_post provider sends the browser back",
)
async def callback_form_post(
    provider: str,
    request: Request,
    db: Session,
    rt: Rt,
    device: ClientDevice,
    state: Annotated[str, Form(min_length=1, max_length=512)],
    code: Annotated[str | None, Form(min_length=1, max_length=2048)] = None,
    error: Annotated[str | None, Form(max_length=256)] = None,
) -> dict[str, Any]:
    """`response_mode=form_post` (Apple, some OIDC providers): the same answer as the GET callback,
    the state, cookie, code and nonce checked alike. Other fields the provider posts are ignored."""
    return await _finish(provider, request, db, rt, device, state, code, error)


async def _finish(
    provider: str,
    request: Request,
    db: Session,
    rt: Rt,
    device: ClientDevice,
    state: str,
    code: str | None,
    error: str | None,
) -> dict[str, Any]:
    rt.providers.require(provider)
    binding = request.cookies.get(BINDING_COOKIE)
    if error is not None or code is None:
        await rt.once.take(oauth.STATE, state)  # the attempt is over either way
        raise ProviderRefused("The provider did not authorise the sign-in")
    result = await oauth.callback(db, rt, provider, code, state, binding, device)
    if isinstance(result, sessions.Issued):
        return ok(
            TokenPair(
                access_token=result.access_token,
                expires_in=result.expires_in,
                refresh_token=result.refresh_token,
                refresh_expires_in=result.refresh_expires_in,
                session_id=result.session_id,
            )
        )
    if isinstance(result, login.Challenge):
        return ok(MfaChallenge(challenge=result.challenge, expires_in=result.expires_in))
    if isinstance(result, oauth.LinkRequired):
        return ok(
            LinkRequiredOut(
                link_token=result.link_token, provider=result.provider, email=result.email, expires_in=result.expires_in
            )
        )
    return ok(_linked(result))


@router.post(
    "/link/confirm",
    response_model=Envelope[LinkedProviderOut],
    responses=_errors(409),
    summary="Accept a pending provider link",
)
async def confirm_link(
    body: LinkConfirm, user: CurrentUser, db: Session, rt: Rt, device: ClientDevice
) -> dict[str, Any]:
    """Signed in to the account the provider's email belongs to: that proves it is the caller's."""
    return ok(_linked(await oauth.confirm_link(db, rt, user, body.link_token, device)))


@router.get("/providers", response_model=Envelope[list[LinkedProviderOut]], summary="The caller's linked providers")
async def linked_providers(user: CurrentUser, db: Session) -> dict[str, Any]:
    return ok([_linked(row) for row in await oauth.linked(db, user.id)])


@router.delete(
    "/providers/{provider}",
    response_model=Envelope[Message],
    responses=_errors(409),
    summary="Unlink a provider (refused when it is the last way to sign in)",
)
async def unlink(provider: str, user: CurrentUser, db: Session, device: ClientDevice) -> dict[str, Any]:
    await oauth.unlink(db, user, provider, device)
    return ok(Message(message="Provider unlinked"))
