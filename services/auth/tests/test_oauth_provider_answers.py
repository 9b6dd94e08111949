"""How providers answer, beyond the plain redirect with a verified email in the ID token: the code
POSTed back (`response_mode=form_post`), the email only in userinfo, and the provider's tokens as
they lie in the table after a real sign-in."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pfms_auth.models import OAuthProvider, User
from pfms_platform.testing.encryption import stored

from .conftest import Harness
from .identity_providers import (
    OAUTH,
    THINNED,
    begin,
    consent,
    consent_posted,
    finish,
    form,
    oidc_provider,
    oidc_settings,
    set_user,
    sign_in,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as url:
        yield url


@pytest.fixture
async def auth(make_service: Any, issuer: str) -> Harness:
    return Harness(await make_service("auth", **oidc_settings(issuer)))


def _who() -> tuple[str, str]:
    return f"sub-{uuid.uuid4().hex[:8]}", f"p{uuid.uuid4().hex[:8]}@example.com"


async def _post_back(auth: Harness, fields: dict[str, str], binding: str | None) -> httpx.Response:
    sent = form(fields)
    if binding is not None:
        sent["headers"]["Cookie"] = f"pfms_oauth={binding}"
    return await auth.client.post(f"{OAUTH}/posted/callback", **sent)


async def test_form_post_signs_in_with_state_cookie_code_and_nonce_checked(auth: Harness, issuer: str) -> None:
    sub, email = _who()
    await set_user(issuer, sub, email)
    started = await auth.client.get(f"{OAUTH}/posted/authorize")
    cookie = started.headers["set-cookie"].lower()
    # the browser POSTs cross-site: a Lax cookie would stay behind, so this one is None (and Secure)
    assert "samesite=none" in cookie and "secure" in cookie and "httponly" in cookie, cookie
    auth.client.cookies.clear()
    attempt = await begin(auth, "posted")
    assert attempt.query["response_mode"] == "form_post" and attempt.query["nonce"]
    action, fields = await consent_posted(attempt, sub)
    assert action == "http://localhost:8000/api/v1/auth/oauth/posted/callback" and fields.keys() == {"code", "state"}

    # another browser (no cookie): refused, and the state is spent
    refused = await _post_back(auth, fields, None)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_STATE", refused.text
    assert (await _post_back(auth, fields, attempt.binding)).status_code == 400
    # a tampered state
    attempt = await begin(auth, "posted")
    _, fields = await consent_posted(attempt, sub)
    tampered = await _post_back(auth, fields | {"state": attempt.state + "x"}, attempt.binding)
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "INVALID_STATE"
    # the code of another attempt carries that attempt's nonce
    mine, theirs = await begin(auth, "posted"), await begin(auth, "posted")
    _, their_fields = await consent_posted(theirs, sub)
    wrong_nonce = await _post_back(auth, their_fields | {"state": mine.state}, mine.binding)
    assert wrong_nonce.status_code == 401 and wrong_nonce.json()["error"]["code"] == "OAUTH_FAILED"
    # the form is what the route reads: JSON or a missing state is a 422 naming it
    as_json = await auth.client.post(f"{OAUTH}/posted/callback", json=fields)
    assert as_json.status_code == 422 and as_json.json()["error"]["details"][0]["field"] == "state", as_json.text
    assert await auth.count(User) == 0

    # the real thing: tokens, the extras a provider posts (Apple's `user`) ignored; then the code is spent
    attempt = await begin(auth, "posted")
    _, fields = await consent_posted(attempt, sub)
    signed_in = await _post_back(auth, fields | {"user": '{"name": {"firstName": "Ada"}}'}, attempt.binding)
    assert signed_in.status_code == 200, signed_in.text
    access = signed_in.json()["data"]["access_token"]
    assert (await auth.client.get("/api/v1/auth/sessions", headers={"Authorization": f"Bearer {access}"})).is_success
    replayed = await _post_back(auth, fields, attempt.binding)
    assert replayed.status_code == 400 and replayed.json()["error"]["code"] == "INVALID_STATE"
    assert await auth.count(User, User.email == email) == 1

    # the provider's tokens are ciphertext in the table, and decrypt to a token the provider honours
    (raw,) = await stored(auth.svc.db, "oauth_providers", "access_token")
    assert str(raw[0]).startswith("v1:dev:")
    link = await auth.scalar(select(OAuthProvider).where(OAuthProvider.provider == "posted"))
    assert link.access_token and link.access_token not in str(raw[0])
    async with httpx.AsyncClient() as http:
        userinfo = await http.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {link.access_token}"})
    assert userinfo.status_code == 200 and userinfo.json()["sub"] == sub


async def test_an_id_token_without_the_email_is_completed_from_userinfo(auth: Harness, issuer: str) -> None:
    sub, email = _who()
    await set_user(issuer, sub, email)
    created = await sign_in(auth, "thin", sub)
    assert created.status_code == 200 and created.json()["data"]["access_token"], created.text
    assert sub in THINNED  # the ID token really came without the email
    user = await auth.scalar(select(User).where(User.email == email))
    assert user is not None and user.email_verified and len(await auth.events("user.created")) == 1

    # userinfo says "not verified": nothing is created, nothing linked, whoever owns the address
    for address in (f"new-{email}", email):
        other = f"sub-{uuid.uuid4().hex[:8]}"
        await set_user(issuer, other, address, verified=False)
        refused = await sign_in(auth, "thin", other)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "EMAIL_NOT_VERIFIED", refused.text
        assert other in THINNED
    assert await auth.count(User) == 1 and await auth.count(OAuthProvider) == 1

    # a verified address that has an account is offered for linking, never linked on the provider's word
    owner = await auth.signed_in()
    other = f"sub-{uuid.uuid4().hex[:8]}"
    await set_user(issuer, other, owner.email)
    offered = await sign_in(auth, "thin", other)
    assert offered.status_code == 200 and offered.json()["data"]["link_required"] is True, offered.text
    assert await auth.count(OAuthProvider, OAuthProvider.user_id == owner.user_id) == 0

    # the provider refusing the code (here: already used) is still a refusal, userinfo or not
    attempt = await begin(auth, "thin")
    code = await consent(attempt, sub)
    assert (await finish(auth, "thin", attempt.state, code, attempt.binding)).status_code == 200
    again = await begin(auth, "thin")
    used = await finish(auth, "thin", again.state, code, again.binding)
    assert used.status_code == 401 and used.json()["error"]["code"] == "OAUTH_FAILED"
