"""Linking identity providers to an account: by email only once the owner confirms while signed in,
from the account's settings, listing them, and unlinking all but the last way in."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from pfms_auth.models import AuditEvent, OAuthProvider

from .conftest import Harness, Person
from .identity_providers import OAUTH, begin, consent, finish, oidc_provider, oidc_settings, set_user, sign_in
from .test_mfa_flow import _enrol

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider() as url:
        yield url


@pytest.fixture
async def auth(make_service: Any, issuer: str) -> Harness:
    return Harness(await make_service("auth", **oidc_settings(issuer)))


def _sub() -> str:
    return f"sub-{uuid.uuid4().hex[:8]}"


async def _actions(auth: Harness, person: Person) -> list[str]:
    async with auth.svc.db.sessions() as db:
        rows = await db.scalars(select(AuditEvent.action).where(AuditEvent.user_id == person.user_id))
        return sorted(rows)


async def test_a_registered_email_is_linked_only_when_its_owner_confirms(auth: Harness, issuer: str) -> None:
    owner, stranger = await auth.signed_in(), await auth.signed_in()
    sub = _sub()
    await set_user(issuer, sub, owner.email.upper())
    response = await sign_in(auth, "google", sub)
    assert response.status_code == 200, response.text
    offer = response.json()["data"]
    assert offer["link_required"] is True and offer["email"] == owner.email and "access_token" not in offer
    assert await auth.count(OAuthProvider) == 0 and len(await auth.events("user.created")) == 2

    confirm = f"{OAUTH}/link/confirm"
    assert (await auth.client.post(confirm, json={"link_token": offer["link_token"]})).status_code == 401
    wrong = await auth.client.post(confirm, json={"link_token": offer["link_token"]}, headers=stranger.headers)
    assert wrong.status_code == 404  # and the offer is spent: the owner starts again
    response = await sign_in(auth, "google", sub)
    token = response.json()["data"]["link_token"]
    bad = await auth.client.post(confirm, json={"link_token": token, "extra": 1}, headers=owner.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "extra"
    linked = await auth.client.post(confirm, json={"link_token": token}, headers=owner.headers)
    assert linked.status_code == 200, linked.text
    assert linked.json()["data"]["provider"] == "google" and linked.json()["data"]["email"] == owner.email
    assert (await auth.client.post(confirm, json={"link_token": token}, headers=owner.headers)).status_code == 404
    # the provider vouched for the owner's own address: that verifies it, announced once
    [verified] = await auth.events("user.email_verified")
    assert (verified["data"]["user_id"], verified["data"]["email"]) == (str(owner.user_id), owner.email)

    # from now on the provider signs the owner in
    response = await sign_in(auth, "google", sub)
    assert response.status_code == 200 and response.json()["data"]["access_token"], response.text
    me = Person(owner.email, owner.password, owner.user_id)
    auth.take_tokens(me, response.json()["data"])
    listed = await auth.client.get(f"{OAUTH}/providers", headers=me.headers)
    assert [(p["provider"], p["email"]) for p in listed.json()["data"]] == [("google", owner.email)]
    assert (await auth.client.get(f"{OAUTH}/providers", headers=stranger.headers)).json()["data"] == []
    assert await _actions(auth, owner) == ["login", "login", "provider_linked"]
    assert len(await auth.events("user.email_verified")) == 1


async def test_linking_from_the_account_and_unlinking(auth: Harness, issuer: str) -> None:
    person, other = await auth.signed_in(), await auth.signed_in()
    sub = _sub()
    await set_user(issuer, sub, f"elsewhere-{uuid.uuid4().hex[:6]}@example.com")
    attempt = await begin(auth, "corp", headers=person.headers)
    response = await finish(auth, "corp", attempt.state, await consent(attempt, sub), attempt.binding)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["provider"] == "corp"
    assert await auth.events("user.email_verified") == []  # it vouched for another address, not the account's
    assert (await auth.client.post(f"{OAUTH}/corp/link")).status_code == 401

    # the same identity cannot also be linked to someone else
    attempt = await begin(auth, "corp", headers=other.headers)
    taken = await finish(auth, "corp", attempt.state, await consent(attempt, sub), attempt.binding)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "PROVIDER_ALREADY_LINKED"

    # another user's provider is not found; the owner, who has a password, can unlink it
    assert (await auth.client.delete(f"{OAUTH}/providers/corp", headers=other.headers)).status_code == 404
    gone = await auth.client.delete(f"{OAUTH}/providers/corp", headers=person.headers)
    assert gone.status_code == 200, gone.text
    assert (await auth.client.delete(f"{OAUTH}/providers/corp", headers=person.headers)).status_code == 404
    assert await _actions(auth, person) == ["login", "provider_linked", "provider_unlinked"]
    # signing in with it now creates nothing for the person: the email is unknown, so a new account
    fresh = await sign_in(auth, "corp", sub)
    assert fresh.status_code == 200 and fresh.json()["data"]["access_token"]


async def test_the_last_way_in_cannot_be_unlinked_and_mfa_still_applies(auth: Harness, issuer: str) -> None:
    sub, email = _sub(), f"only-{uuid.uuid4().hex[:6]}@example.com"
    await set_user(issuer, sub, email)
    response = await sign_in(auth, "google", sub)
    user_id = await auth.user_id(email)
    assert user_id is not None
    person = Person(email, "", user_id)
    auth.take_tokens(person, response.json()["data"])
    refused = await auth.client.delete(f"{OAUTH}/providers/google", headers=person.headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "LAST_SIGN_IN_METHOD"

    # a second provider makes the first removable
    other_sub = _sub()
    await set_user(issuer, other_sub, email)
    attempt = await begin(auth, "corp", headers=person.headers)
    linked = await finish(auth, "corp", attempt.state, await consent(attempt, other_sub), attempt.binding)
    assert linked.status_code == 200, linked.text
    assert (await auth.client.delete(f"{OAUTH}/providers/google", headers=person.headers)).status_code == 200
    refused = await auth.client.delete(f"{OAUTH}/providers/corp", headers=person.headers)
    assert refused.status_code == 409

    # with TOTP on, the provider is the first factor only
    await _enrol(auth, person)
    challenged = await sign_in(auth, "corp", other_sub)
    assert challenged.status_code == 200 and challenged.json()["data"]["mfa_required"] is True
