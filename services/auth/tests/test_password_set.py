"""An account an identity provider created has no password: it signs in with the provider, can set
a first password after a recent sign-in, and keeps at least one way in (password, provider, passkey)."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from pfms_auth.models import AuditEvent, Session, User
from pfms_auth.soft_authenticator import SoftAuthenticator
from pfms_platform.db import utcnow

from .conftest import NEW_PASSWORD, Harness, Person
from .identity_providers import OAUTH, oidc_provider, oidc_settings, set_user, sign_in
from .test_passkeys import PASSKEYS, _login, _login_options, _register

pytestmark = pytest.mark.integration

SET = "/api/v1/auth/password/set"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as url:
        yield url


async def test_a_provider_account_sets_a_password_after_a_recent_sign_in_and_keeps_a_way_in(
    make_service: Any, issuer: str
) -> None:
    auth = Harness(await make_service("auth", reauth_max_age_seconds=60, **oidc_settings(issuer)))
    sub, email = f"sub-{uuid.uuid4().hex[:8]}", f"p{uuid.uuid4().hex[:8]}@example.com"
    await set_user(issuer, sub, email)
    signed_in = await sign_in(auth, "google", sub)
    assert signed_in.status_code == 200, signed_in.text
    user_id = await auth.user_id(email)
    assert user_id is not None
    person = Person(email, "", user_id)
    auth.take_tokens(person, signed_in.json()["data"])
    assert await auth.scalar(select(User.password_hash).where(User.id == user_id)) is None
    no_password = await auth.client.post("/api/v1/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert no_password.status_code == 401

    # the only way in cannot go; a passkey is a second one, so the provider can then be unlinked
    last = await auth.client.delete(f"{OAUTH}/providers/google", headers=person.headers)
    assert last.status_code == 409 and last.json()["error"]["code"] == "LAST_SIGN_IN_METHOD"
    key = SoftAuthenticator()
    passkey = await _register(auth, person, key)
    assert (await auth.client.delete(f"{OAUTH}/providers/google", headers=person.headers)).status_code == 200
    last = await auth.client.delete(f"{PASSKEYS}/{passkey['id']}", headers=person.headers)
    assert last.status_code == 409 and last.json()["error"]["code"] == "LAST_SIGN_IN_METHOD"

    # a session older than REAUTH_MAX_AGE_SECONDS (refreshed or not) must sign in again first
    async with auth.svc.db.sessions() as db, db.begin():
        old = utcnow() - timedelta(seconds=61)
        await db.execute(update(Session).where(Session.id == uuid.UUID(person.session_id)).values(created_at=old))
    stale = await auth.client.post(SET, json={"new_password": NEW_PASSWORD}, headers=person.headers)
    assert stale.status_code == 403 and stale.json()["error"]["code"] == "REAUTH_REQUIRED", stale.text
    refreshed = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    auth.take_tokens(person, refreshed.json()["data"])
    assert (await auth.client.post(SET, json={"new_password": NEW_PASSWORD}, headers=person.headers)).status_code == 403

    # signing in again with the passkey is the reauthentication
    options = await _login_options(auth)
    again = await _login(auth, options["ceremony"], key.get(options["options"]))
    assert again.status_code == 200, again.text
    auth.take_tokens(person, again.json()["data"])
    weak = await auth.client.post(SET, json={"new_password": "password"}, headers=person.headers)
    assert weak.status_code == 422 and weak.json()["error"]["details"][0]["field"] == "new_password"
    unknown = await auth.client.post(SET, json={"new_password": NEW_PASSWORD, "x": 1}, headers=person.headers)
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "x"
    assert (await auth.client.post(SET, json={"new_password": NEW_PASSWORD})).status_code == 401
    assert await auth.scalar(select(User.password_hash).where(User.id == user_id)) is None
    done = await auth.client.post(SET, json={"new_password": NEW_PASSWORD}, headers=person.headers)
    assert done.status_code == 200, done.text
    twice = await auth.client.post(SET, json={"new_password": NEW_PASSWORD + "!"}, headers=person.headers)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "PASSWORD_ALREADY_SET"

    # the password now counts as a way in: the passkey can go, and the password signs in
    assert (await auth.client.delete(f"{PASSKEYS}/{passkey['id']}", headers=person.headers)).status_code == 200
    person.password = NEW_PASSWORD
    await auth.login(person)
    async with auth.svc.db.sessions() as db:
        actions = list(await db.scalars(select(AuditEvent.action).where(AuditEvent.user_id == user_id)))
    assert actions.count("password_set") == 1 and "provider_unlinked" in actions and "passkey_removed" in actions
    # and it is the password the sensitive changes ask for (MFA off, account deletion)
    body = {"password": NEW_PASSWORD}
    deleted = await auth.client.request("DELETE", "/api/v1/auth/account", json=body, headers=person.headers)
    assert deleted.status_code == 200, deleted.text
