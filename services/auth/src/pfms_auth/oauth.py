"""Signing in with an identity provider, and linking providers to an account.

The flow is OAuth 2.0 authorization code with PKCE (plus an OIDC nonce): `start` keeps the state's
verifier and nonce in Redis, single use, bound to a random value the browser holds in a cookie, so a
callback URL lured into another browser finds nothing. The callback then:

- an identity already linked signs its user in (through the second factor when MFA is on);
- a new identity whose verified email belongs to no account creates one (and `user.created`);
- a new identity whose email has an account is NOT linked on the provider's word: the answer is a
  short-lived link token, and the owner confirms it while signed in (proving the account is theirs);
- an identity with no verified email is refused, so nobody claims an address the provider never checked;
- a provider that verified the account's own address (linked or signing in) verifies it here too
  (`user.email_verified`), as the link in the verification mail would.
"""

import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_auth import accounts, audit, login, sessions, signin, tokens
from pfms_auth.audit import Action
from pfms_auth.models import OAuthProvider, User
from pfms_auth.providers import Identity
from pfms_auth.runtime import Runtime
from pfms_platform.db import utcnow
from pfms_platform.errors import AppError, Conflict, Forbidden, NotFound, Unauthorized
from pfms_platform.logging import get_logger

log = get_logger(__name__)

STATE = "oauth-state"
PENDING_LINK = "oauth-link"


class InvalidState(AppError):
    """A callback whose state is unknown, used, expired, for another provider or from another browser."""

    status_code = 400
    code = "INVALID_STATE"


@dataclass(frozen=True)
class Started:
    url: str
    expires_in: int
    binding: str
    """Goes to the browser as a cookie; the callback must bring it back."""


@dataclass(frozen=True)
class LinkRequired:
    link_token: str
    provider: str
    email: str
    expires_in: int


async def start(rt: Runtime, provider: str, link_user: uuid.UUID | None = None) -> Started:
    """An authorisation URL for `provider`; with `link_user`, the callback links the identity to that
    (signed-in) user instead of signing in."""
    made = await rt.providers.authorization(provider)
    binding = tokens.new_opaque_token()
    ttl = rt.settings.oauth_state_ttl_seconds
    pending = {
        "provider": provider,
        "code_verifier": made.code_verifier,
        "nonce": made.nonce,
        "binding": tokens.digest(binding),
        "link_user": str(link_user) if link_user else None,
    }
    await rt.once.put(STATE, pending, ttl, handle=made.state)
    return Started(made.url, ttl, binding)


async def callback(
    db: AsyncSession,
    rt: Runtime,
    provider: str,
    code: str,
    state: str,
    binding: str | None,
    device: sessions.Device,
) -> sessions.Issued | login.Challenge | LinkRequired | OAuthProvider:
    pending = await rt.once.take(STATE, state)
    if (
        pending is None
        or pending["provider"] != provider
        or binding is None
        or not hmac.compare_digest(tokens.digest(binding), pending["binding"])
    ):
        raise InvalidState("Invalid or expired sign-in state; start again", field="state")
    identity = await rt.providers.identity(provider, code, pending["code_verifier"], pending["nonce"])
    if pending["link_user"] is not None:
        user = await db.get(User, uuid.UUID(pending["link_user"]))
        if user is None or not user.is_active:
            raise Unauthorized("Session revoked or expired")
        return await _link(db, user, provider, identity, device)
    row = await _identity_row(db, provider, identity.subject)
    if row is not None:
        user = await db.get(User, row.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("This account cannot sign in", code="INVALID_CREDENTIALS")
        _refresh(row, identity)
        await _vouch(db, user, identity)
        return await login.first_factor_passed(db, rt, user, device, f"oauth:{provider}")
    if identity.email is None or not identity.email_verified:
        raise Forbidden("The provider did not confirm an email address for this account", code="EMAIL_NOT_VERIFIED")
    owner = await db.scalar(select(User.id).where(User.email == identity.email))
    if owner is not None:
        return await _offer_link(rt, owner, provider, identity)
    user = await accounts.create_verified(db, identity.email)
    if user is None:  # registered meanwhile: the same answer as if it had been there before
        owner = await db.scalar(select(User.id).where(User.email == identity.email))
        assert owner is not None
        return await _offer_link(rt, owner, provider, identity)
    await _link(db, user, provider, identity, device)
    return await login.first_factor_passed(db, rt, user, device, f"oauth:{provider}")


async def confirm_link(
    db: AsyncSession, rt: Runtime, user: User, link_token: str, device: sessions.Device
) -> OAuthProvider:
    """The signed-in owner of the email accepts the identity the callback found."""
    pending = await rt.once.take(PENDING_LINK, link_token)
    if pending is None or pending["user_id"] != str(user.id):
        raise NotFound("Link request not found or expired")
    identity = Identity(pending["subject"], pending["email"], True, None, None)
    return await _link(db, user, pending["provider"], identity, device)


async def linked(db: AsyncSession, user_id: uuid.UUID) -> list[OAuthProvider]:
    rows = await db.scalars(
        select(OAuthProvider).where(OAuthProvider.user_id == user_id).order_by(OAuthProvider.created_at)
    )
    return list(rows)


async def unlink(db: AsyncSession, user: User, provider: str, device: sessions.Device) -> None:
    """Refused when it would leave no way in (no password, no other provider, no passkey)."""
    row = await db.scalar(
        select(OAuthProvider)
        .where(OAuthProvider.user_id == user.id, OAuthProvider.provider == provider)
        .with_for_update()
    )
    if row is None:
        raise NotFound("No such linked provider")
    await signin.require_another_way(db, user, provider=row.id)
    await db.delete(row)
    await audit.record(db, user.id, Action.PROVIDER_UNLINKED, device, provider=provider)
    log.info("provider unlinked", user_id=str(user.id), provider=provider)


async def _identity_row(db: AsyncSession, provider: str, subject: str) -> OAuthProvider | None:
    return await db.scalar(
        select(OAuthProvider)
        .where(OAuthProvider.provider == provider, OAuthProvider.provider_user_id == subject)
        .with_for_update()
    )


def _refresh(row: OAuthProvider, identity: Identity) -> None:
    row.email = identity.email
    row.last_used_at = utcnow()
    if identity.access_token is not None:
        row.access_token = identity.access_token
    if identity.refresh_token is not None:
        row.refresh_token = identity.refresh_token


async def _offer_link(rt: Runtime, owner: uuid.UUID, provider: str, identity: Identity) -> LinkRequired:
    assert identity.email is not None
    ttl = rt.settings.oauth_link_ttl_seconds
    pending = {"user_id": str(owner), "provider": provider, "subject": identity.subject, "email": identity.email}
    token = await rt.once.put(PENDING_LINK, pending, ttl)
    return LinkRequired(token, provider, identity.email, ttl)


async def _link(
    db: AsyncSession, user: User, provider: str, identity: Identity, device: sessions.Device
) -> OAuthProvider:
    """Attach the identity to `user`: refused when it belongs to someone else, or when the user already
    has another identity at this provider (unlink that one first)."""
    row = await _identity_row(db, provider, identity.subject)
    if row is not None and row.user_id != user.id:
        raise Conflict("This provider account is linked to another user", code="PROVIDER_ALREADY_LINKED")
    if row is None:
        taken = await db.scalar(
            select(OAuthProvider.id).where(OAuthProvider.user_id == user.id, OAuthProvider.provider == provider)
        )
        if taken is not None:
            raise Conflict(
                "Another account of this provider is linked; unlink it first", code="PROVIDER_ALREADY_LINKED"
            )
        row = OAuthProvider(user_id=user.id, provider=provider, provider_user_id=identity.subject)
        db.add(row)
        await audit.record(db, user.id, Action.PROVIDER_LINKED, device, provider=provider)
        log.info("provider linked", user_id=str(user.id), provider=provider)
    _refresh(row, identity)
    await db.flush()
    await _vouch(db, user, identity)
    return row


async def _vouch(db: AsyncSession, user: User, identity: Identity) -> None:
    """A provider that verified the account's own address proves the mailbox, as the link in the mail would."""
    if identity.email_verified and identity.email == user.email:
        await accounts.mark_verified(db, user.id, user.email)
