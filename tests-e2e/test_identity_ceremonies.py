"""Issue 12's sign-in ceremonies end to end through the gateway's public routes: OpenID Connect at a
local provider (authorize → the provider's login → callback → tokens → protected calls), with a
tampered state and a replayed callback refused and the form_post callback reachable; a passkey
registered, then a passwordless sign-in, with the software authenticator auth's own tests use."""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from journeys import Person, profile_of, sign_up
from oidc_provider_mock import run_server_in_thread

from pfms_auth.soft_authenticator import SoftAuthenticator
from pfms_local.fleet import Fleet

pytestmark = pytest.mark.e2e

PROVIDER = "e2e-oidc"
OAUTH = "/api/v1/auth/oauth"
PASSKEYS = "/api/v1/auth/passkeys"


@pytest.fixture(scope="session")
async def issuer(fleet: Fleet) -> AsyncIterator[str]:
    """A local OpenID Connect provider, and the fleet's auth restarted once with it configured (its
    public URL, the gateway's, is where the provider sends the browser back). Auth keeps that setting,
    and the provider runs, until the session ends: restoring it would cost a second restart, and an
    extra provider changes nothing for the other tests."""
    with run_server_in_thread(require_nonce=True) as server:
        url = f"http://localhost:{server.server_port}"
        provider = {"kind": "oidc", "client_id": "pfms-e2e", "client_secret": "e2e"}
        fleet.supervisor["auth"].spec.env |= {
            "PFMS_AUTH_OAUTH_PROVIDERS": json.dumps(
                {PROVIDER: provider | {"discovery_url": f"{url}/.well-known/openid-configuration"}}
            ),
            "PFMS_AUTH_OAUTH_REDIRECT_BASE_URL": fleet.gateway_url,
        }
        await fleet.restart("auth")
        yield url


def _claims(token: str) -> dict[str, str]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _with_state(url: str, state: str) -> str:
    parts = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": state}
    return parts._replace(query=urlencode(query)).geturl()


async def test_oidc_sign_in_through_the_gateway_then_a_first_password(
    gateway: httpx.AsyncClient, fleet: Fleet, issuer: str
) -> None:
    sub, email = f"sub-{uuid.uuid4().hex[:8]}", f"e2e-oidc-{uuid.uuid4().hex[:8]}@example.com"
    async with httpx.AsyncClient() as provider:
        known = await provider.put(f"{issuer}/users/{sub}", json={"email": email, "email_verified": True})
        assert known.status_code == 204, known.text

        # the browser: authorize (302 to the provider, the binding cookie kept in its jar) ...
        started = await gateway.get(f"{OAUTH}/{PROVIDER}/authorize", params={"redirect": "true"})
        assert started.status_code == 302, started.text
        assert started.headers["location"].startswith(f"{issuer}/") and "pfms_oauth" in gateway.cookies
        # ... the person signs in at the provider, which sends the browser back to the gateway
        consented = await provider.post(started.headers["location"], data={"sub": sub})
    assert consented.status_code == 302, consented.text
    back = consented.headers["location"]
    assert back.startswith(f"{fleet.gateway_url}{OAUTH}/{PROVIDER}/callback?")
    state = parse_qs(urlparse(back).query)["state"][0]

    tampered = await gateway.get(_with_state(back, state[:-2] + "xx"))
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "INVALID_STATE", tampered.text
    # the form_post callback (POST, form body) is public at the gateway too: auth itself answers
    posted = await gateway.post(
        f"{OAUTH}/{PROVIDER}/callback",
        content=urlencode({"state": state + "x", "code": "c"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 400 and posted.json()["error"]["code"] == "INVALID_STATE", posted.text
    signed_in = await gateway.get(back)
    assert signed_in.status_code == 200, signed_in.text
    tokens = signed_in.json()["data"]
    assert tokens["mfa_required"] is False
    replayed = await gateway.get(back)
    assert replayed.status_code == 400 and replayed.json()["error"]["code"] == "INVALID_STATE"

    # protected calls with the tokens: auth's, and the user service's profile made from user.created
    user_id = _claims(tokens["access_token"])["sub"]
    person = Person(email, "", tokens["access_token"], tokens["refresh_token"], user_id)
    linked = await gateway.get(f"{OAUTH}/providers", headers=person.headers)
    assert [p["provider"] for p in linked.json()["data"]] == [PROVIDER], linked.text
    assert (await profile_of(gateway, person))["email"] == email

    # the account has no password until it sets one, which this fresh sign-in allows
    password = "a first passphrase set after oidc"
    refused = await gateway.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert refused.status_code == 401
    set_ = await gateway.post("/api/v1/auth/password/set", json={"new_password": password}, headers=person.headers)
    assert set_.status_code == 200, set_.text
    assert (await gateway.post("/api/v1/auth/login", json={"email": email, "password": password})).status_code == 200


async def test_passkey_registration_then_passwordless_sign_in_through_the_gateway(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway, wait_profile=False)
    key = SoftAuthenticator()
    options = await gateway.post(f"{PASSKEYS}/register/options", headers=person.headers)
    assert options.status_code == 200, options.text
    ceremony = options.json()["data"]
    created = await gateway.post(
        f"{PASSKEYS}/register/verify",
        json={"ceremony": ceremony["ceremony"], "credential": key.create(ceremony["options"]), "name": "e2e key"},
        headers=person.headers,
    )
    assert created.status_code == 201, created.text

    # no token, no email: the passkey alone signs in
    started = await gateway.post(f"{PASSKEYS}/login/options", json={})
    assert started.status_code == 200, started.text
    login = started.json()["data"]
    answer = {"ceremony": login["ceremony"], "credential": key.get(login["options"])}
    verified = await gateway.post(f"{PASSKEYS}/login/verify", json=answer)
    assert verified.status_code == 200, verified.text
    headers = {"Authorization": f"Bearer {verified.json()['data']['access_token']}"}
    mine = await gateway.get(PASSKEYS, headers=headers)
    assert mine.status_code == 200 and [(p["name"], bool(p["last_used_at"])) for p in mine.json()["data"]] == [
        ("e2e key", True)
    ]
    assert _claims(verified.json()["data"]["access_token"])["sub"] == person.user_id
    sessions = await gateway.get("/api/v1/auth/sessions", headers=headers)
    assert sessions.status_code == 200 and len(sessions.json()["data"]) == 2  # the password's and the passkey's
    replayed = await gateway.post(f"{PASSKEYS}/login/verify", json=answer)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "INVALID_CREDENTIALS"
