"""Passkeys against a software authenticator: registration, passwordless sign-in, second factor,
single-use challenges, sign-count regression, several per user, rename, remove."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select, update

from pfms_auth.models import AuditEvent, Passkey, User
from pfms_auth.soft_authenticator import SoftAuthenticator

from .conftest import Harness, Person, totp_at
from .test_mfa_flow import _challenge, _enrol

pytestmark = pytest.mark.integration

PASSKEYS = "/api/v1/auth/passkeys"


async def _register(auth: Harness, person: Person, key: SoftAuthenticator, name: str | None = None) -> dict[str, Any]:
    options = await auth.client.post(f"{PASSKEYS}/register/options", headers=person.headers)
    assert options.status_code == 200, options.text
    data = options.json()["data"]
    assert data["options"]["rp"] == {"id": "localhost", "name": "PFMS"}
    body: dict[str, Any] = {"ceremony": data["ceremony"], "credential": key.create(data["options"])}
    if name:
        body["name"] = name
    response = await auth.client.post(f"{PASSKEYS}/register/verify", json=body, headers=person.headers)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def _login_options(auth: Harness, mfa_challenge: str | None = None) -> dict[str, Any]:
    body = {"mfa_challenge": mfa_challenge} if mfa_challenge else {}
    response = await auth.client.post(f"{PASSKEYS}/login/options", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


async def _login(auth: Harness, ceremony: str, credential: dict[str, Any]) -> Any:
    return await auth.client.post(f"{PASSKEYS}/login/verify", json={"ceremony": ceremony, "credential": credential})


async def test_register_then_sign_in_without_a_password(auth: Harness) -> None:
    person = await auth.signed_in()
    key = SoftAuthenticator()
    added = await _register(auth, person, key, "Laptop")
    assert added["name"] == "Laptop" and added["transports"] == ["internal", "hybrid"]

    options = await _login_options(auth)
    assert options["options"]["allowCredentials"] == [] and options["options"]["userVerification"] == "required"
    response = await _login(auth, options["ceremony"], key.get(options["options"]))
    assert response.status_code == 200, response.text
    signed_in = Person(person.email, person.password, person.user_id)
    auth.take_tokens(signed_in, response.json()["data"])
    listed = await auth.client.get(PASSKEYS, headers=signed_in.headers)
    assert [p["name"] for p in listed.json()["data"]] == ["Laptop"] and listed.json()["data"][0]["last_used_at"]
    row = await auth.scalar(select(Passkey).where(Passkey.user_id == person.user_id))
    assert row.sign_count == 1

    # the ceremony is single use
    again = await _login(auth, options["ceremony"], key.get(options["options"]))
    assert again.status_code == 401
    # an assertion whose sign count did not grow (a cloned authenticator) is refused
    options = await _login_options(auth)
    key.sign_count = 1  # a copy of the key as it was at the last sign-in
    cloned = await _login(auth, options["ceremony"], key.get(options["options"], advance=False))
    assert cloned.status_code == 401 and cloned.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert (await auth.scalar(select(Passkey.sign_count).where(Passkey.id == row.id))) == 1
    # an answer to another challenge, or without user verification, is refused too
    first, second = await _login_options(auth), await _login_options(auth)
    assert (await _login(auth, first["ceremony"], key.get(second["options"]))).status_code == 401
    key.user_verified = False
    options = await _login_options(auth)
    assert (await _login(auth, options["ceremony"], key.get(options["options"]))).status_code == 401
    async with auth.svc.db.sessions() as db:
        actions = sorted(await db.scalars(select(AuditEvent.action).where(AuditEvent.user_id == person.user_id)))
    assert actions == ["login"] * 5 + ["passkey_added"]  # 2 sign-ins, 3 refused uses of a known passkey

    # the passkeys go with the account
    gone = await auth.client.request(
        "DELETE", "/api/v1/auth/account", json={"password": person.password}, headers=signed_in.headers
    )
    assert gone.status_code == 200, gone.text
    assert await auth.count(Passkey) == 0


async def test_a_passkey_as_the_second_factor(auth: Harness) -> None:
    person = await auth.signed_in()
    key = SoftAuthenticator()
    await _register(auth, person, key)
    other = await auth.signed_in()
    other_key = SoftAuthenticator()
    await _register(auth, other, other_key)
    secret, _ = await _enrol(auth, person)

    challenge = await _challenge(auth, person)
    options = await _login_options(auth, challenge)
    allowed = options["options"]["allowCredentials"]
    assert [c["id"] for c in allowed] == [key.get(options["options"], advance=False)["id"]]
    # someone else's passkey does not complete this person's sign-in
    refused = await _login(auth, options["ceremony"], other_key.get(options["options"]))
    assert refused.status_code == 401
    options = await _login_options(auth, challenge)
    response = await _login(auth, options["ceremony"], key.get(options["options"]))
    assert response.status_code == 200 and response.json()["data"]["access_token"], response.text
    # the MFA challenge is spent with it
    late = await auth.client.post("/api/v1/auth/mfa/verify", json={"challenge": challenge, "code": totp_at(secret)})
    assert late.status_code == 401
    unknown = await auth.client.post(f"{PASSKEYS}/login/options", json={"mfa_challenge": "nope"})
    assert unknown.status_code == 401


async def test_several_passkeys_renamed_and_removed(auth: Harness) -> None:
    person, stranger = await auth.signed_in(), await auth.signed_in()
    first, second = SoftAuthenticator(), SoftAuthenticator()
    one = await _register(auth, person, first)
    two = await _register(auth, person, second, "Phone")
    assert one["name"] == "Passkey 1" and two["name"] == "Phone"

    # the same authenticator twice: excluded in the options, refused if sent anyway
    options = (await auth.client.post(f"{PASSKEYS}/register/options", headers=person.headers)).json()["data"]
    assert len(options["options"]["excludeCredentials"]) == 2
    dup = await auth.client.post(
        f"{PASSKEYS}/register/verify",
        json={"ceremony": options["ceremony"], "credential": first.create(options["options"])},
        headers=person.headers,
    )
    assert dup.status_code == 409
    # a ceremony of another user, or a tampered answer
    theirs = (await auth.client.post(f"{PASSKEYS}/register/options", headers=stranger.headers)).json()["data"]
    stolen = await auth.client.post(
        f"{PASSKEYS}/register/verify",
        json={"ceremony": theirs["ceremony"], "credential": SoftAuthenticator().create(theirs["options"])},
        headers=person.headers,
    )
    assert stolen.status_code == 400 and stolen.json()["error"]["code"] == "INVALID_PASSKEY"
    mine = (await auth.client.post(f"{PASSKEYS}/register/options", headers=person.headers)).json()["data"]
    wrong_origin = SoftAuthenticator(origin="https://evil.example")
    bad = await auth.client.post(
        f"{PASSKEYS}/register/verify",
        json={"ceremony": mine["ceremony"], "credential": wrong_origin.create(mine["options"])},
        headers=person.headers,
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "credential"

    url = f"{PASSKEYS}/{one['id']}"
    renamed = await auth.client.patch(url, json={"name": "Old laptop"}, headers=person.headers)
    assert renamed.status_code == 200 and renamed.json()["data"]["name"] == "Old laptop"
    assert (await auth.client.patch(url, json={"name": ""}, headers=person.headers)).status_code == 422
    assert (await auth.client.patch(url, json={"name": "x", "extra": 1}, headers=person.headers)).status_code == 422
    assert (await auth.client.patch(url, json={"name": "Mine now"}, headers=stranger.headers)).status_code == 404
    assert (await auth.client.delete(url, headers=stranger.headers)).status_code == 404
    assert (await auth.client.delete(f"{PASSKEYS}/{uuid.uuid4()}", headers=person.headers)).status_code == 404
    assert (await auth.client.delete(url, headers=person.headers)).status_code == 200
    names = [p["name"] for p in (await auth.client.get(PASSKEYS, headers=person.headers)).json()["data"]]
    assert names == ["Phone"]
    # a removed passkey no longer signs in
    options = await _login_options(auth)
    assert (await _login(auth, options["ceremony"], first.get(options["options"]))).status_code == 401
    # without a password (an account made by an identity provider), the last passkey stays
    async with auth.svc.db.sessions() as db, db.begin():
        await db.execute(update(User).where(User.id == person.user_id).values(password_hash=None))
    last = await auth.client.delete(f"{PASSKEYS}/{two['id']}", headers=person.headers)
    assert last.status_code == 409 and last.json()["error"]["code"] == "LAST_SIGN_IN_METHOD"
    async with auth.svc.db.sessions() as db:
        actions = sorted(await db.scalars(select(AuditEvent.action).where(AuditEvent.user_id == person.user_id)))
    assert actions == ["login", "passkey_added", "passkey_added", "passkey_removed"]


async def test_the_number_of_passkeys_is_capped(make_service: Any) -> None:
    auth = Harness(await make_service("auth", passkeys_per_user=1))
    person = await auth.signed_in()
    started = (await auth.client.post(f"{PASSKEYS}/register/options", headers=person.headers)).json()["data"]
    await _register(auth, person, SoftAuthenticator())
    more = await auth.client.post(f"{PASSKEYS}/register/options", headers=person.headers)
    assert more.status_code == 409 and more.json()["error"]["code"] == "PASSKEY_LIMIT"
    # a ceremony started before the limit was reached does not get past it either
    late = await auth.client.post(
        f"{PASSKEYS}/register/verify",
        json={"ceremony": started["ceremony"], "credential": SoftAuthenticator().create(started["options"])},
        headers=person.headers,
    )
    assert late.status_code == 409 and await auth.count(Passkey) == 1
