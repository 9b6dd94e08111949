"""Signing in with OpenID Connect providers (Google by discovery, a generic one) against a real local
provider: first sign-in creates the account, state/code/nonce are each checked, MFA still applies."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from pfms_auth.models import AuditEvent, OAuthProvider, User

from .conftest import Harness
from .identity_providers import OAUTH, begin, consent, finish, oidc_provider, oidc_settings, set_user, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as url:
        yield url


@pytest.fixture
async def auth(make_service: Any, issuer: str) -> Harness:
    return Harness(await make_service("auth", **oidc_settings(issuer)))


async def test_first_sign_in_creates_the_account_and_later_ones_find_it(auth: Harness, issuer: str) -> None:
    email, sub = f"g{uuid.uuid4().hex[:8]}@example.com", f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(issuer, sub, email)
    attempt = await begin(auth, "google")
    query = attempt.query
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["nonce"] and query["scope"] == "openid email profile" and query["client_id"] == "pfms-web"
    assert query["redirect_uri"] == "http://localhost:8000/api/v1/auth/oauth/google/callback"

    response = await finish(auth, "google", attempt.state, await consent(attempt, sub), attempt.binding)
    assert response.status_code == 200, response.text
    tokens = response.json()["data"]
    assert tokens["mfa_required"] is False and tokens["access_token"]
    user = await auth.scalar(select(User).where(User.email == email))
    assert user.email_verified and user.password_hash is None
    created = await auth.events("user.created")
    assert len(created) == 1
    assert created[0]["data"] | {"created_at": None} == {
        "user_id": str(user.id),
        "email": email,
        "email_verified": True,
        "created_at": None,
    }
    link = await auth.scalar(select(OAuthProvider).where(OAuthProvider.user_id == user.id))
    assert (link.provider, link.provider_user_id, link.email) == ("google", sub, email)
    assert link.access_token and link.last_used_at is not None  # encrypted at rest: test_encryption.py

    again = await sign_in(auth, "google", sub)
    assert again.status_code == 200, again.text
    assert again.json()["data"]["session_id"] != tokens["session_id"]
    assert await auth.count(User, User.email == email) == 1 and len(await auth.events("user.created")) == 1
    async with auth.svc.db.sessions() as db:
        actions = list(await db.scalars(select(AuditEvent.action).where(AuditEvent.user_id == user.id)))
    assert sorted(actions) == ["login", "login", "provider_linked"]

    # the same person at the generic provider is another identity: linking by email needs confirmation
    other = await sign_in(auth, "corp", sub)
    assert other.status_code == 200 and other.json()["data"]["link_required"] is True


async def test_a_tampered_state_or_a_missing_cookie_is_refused(auth: Harness, issuer: str) -> None:
    sub = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(issuer, sub, f"{sub}@example.com")
    attempt = await begin(auth, "google")
    code = await consent(attempt, sub)
    for state, binding in [(attempt.state + "x", attempt.binding), (attempt.state[:-1], attempt.binding)]:
        response = await finish(auth, "google", state, code, binding)
        assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_STATE", response.text
    assert (await finish(auth, "corp", attempt.state, code, attempt.binding)).status_code == 400  # other provider
    # from another browser (no cookie, or another one): refused, and the state is spent
    attempt = await begin(auth, "google")
    code = await consent(attempt, sub)
    assert (await finish(auth, "google", attempt.state, code, None)).status_code == 400
    attempt = await begin(auth, "google")
    code = await consent(attempt, sub)
    assert (await finish(auth, "google", attempt.state, code, "another-browser")).status_code == 400
    assert (await finish(auth, "google", attempt.state, code, attempt.binding)).status_code == 400
    assert await auth.count(User) == 0
    # the provider's refusal ends the attempt too
    attempt = await begin(auth, "google")
    denied = await auth.client.get(
        f"{OAUTH}/google/callback", params={"state": attempt.state, "error": "access_denied"}
    )
    assert denied.status_code == 401 and denied.json()["error"]["code"] == "OAUTH_FAILED"
    assert (await auth.client.get(f"{OAUTH}/nope/authorize")).status_code == 404


async def test_a_replayed_code_or_state_is_refused(auth: Harness, issuer: str) -> None:
    sub = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(issuer, sub, f"{sub}@example.com")
    attempt = await begin(auth, "google")
    code = await consent(attempt, sub)
    assert (await finish(auth, "google", attempt.state, code, attempt.binding)).status_code == 200
    replayed = await finish(auth, "google", attempt.state, code, attempt.binding)
    assert replayed.status_code == 400 and replayed.json()["error"]["code"] == "INVALID_STATE"
    fresh = await begin(auth, "google")  # a new state: the provider itself refuses the used code
    response = await finish(auth, "google", fresh.state, code, fresh.binding)
    assert response.status_code == 401 and response.json()["error"]["code"] == "OAUTH_FAILED", response.text


async def test_an_id_token_for_another_attempt_fails_the_nonce_check(auth: Harness, issuer: str) -> None:
    sub = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(issuer, sub, f"{sub}@example.com")
    mine, theirs = await begin(auth, "google"), await begin(auth, "google")
    code = await consent(theirs, sub)  # its ID token carries the other attempt's nonce
    response = await finish(auth, "google", mine.state, code, mine.binding)
    assert response.status_code == 401 and response.json()["error"]["code"] == "OAUTH_FAILED", response.text
    assert await auth.count(User) == 0


async def test_an_email_the_provider_did_not_verify_creates_nothing(auth: Harness, issuer: str) -> None:
    sub = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(issuer, sub, f"{sub}@example.com", verified=False)
    response = await sign_in(auth, "corp", sub)
    assert response.status_code == 403 and response.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"
    assert await auth.count(User) == 0 and await auth.count(OAuthProvider) == 0
