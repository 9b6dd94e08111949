"""Push through FCM HTTP v1 with access tokens minted from a service-account key, against local servers.

The local token endpoint checks google-auth's grant as Google does: an RS256 JWT assertion signed by
the key (verified with its public half), the FCM scope, Google's token audience, the JWT-bearer grant
type. The local FCM answers only the bearers that endpoint issued and the test has not revoked.
"""

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select

from pfms_contracts.notification import NotificationRequested
from pfms_notification.channels import FCM_SCOPE, FcmAccess, SendError
from pfms_notification.models import Delivery
from pfms_notification.settings import Settings
from pfms_platform.testing.helpers import served

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
"""google-auth puts Google's token endpoint in `aud` whatever the key's `token_uri` says."""
PROJECT = "pfms-push-test"
UNAUTHENTICATED = {
    "code": 401,
    "message": "Request had invalid authentication credentials.",
    "status": "UNAUTHENTICATED",
}


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Google:
    """The token endpoint and FCM, on one local server."""

    url: str
    info: dict[str, Any]
    verify_with: rsa.RSAPublicKey
    lifetime: int = 3600
    grants: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    revoke_all: bool = False
    sends: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()
        counter = itertools.count(1)

        @app.post("/token")
        async def token(grant_type: str = Form(), assertion: str = Form()) -> JSONResponse:
            try:
                assert grant_type == GRANT_TYPE, grant_type
                assert jwt.get_unverified_header(assertion)["kid"] == self.info["private_key_id"]
                claims = jwt.decode(
                    assertion,
                    self.verify_with,
                    algorithms=["RS256"],
                    audience=GOOGLE_TOKEN_AUDIENCE,
                    issuer=self.info["client_email"],
                    options={"require": ["iat", "exp", "iss", "aud", "scope"]},
                )
                assert claims["scope"] == FCM_SCOPE, claims["scope"]
            except (AssertionError, jwt.PyJWTError) as exc:
                self.refusals.append(repr(exc))
                return JSONResponse({"error": "invalid_grant", "error_description": "Invalid JWT"}, status_code=400)
            self.grants.append(claims)
            self.issued.append(access := f"ya29.test-{next(counter)}")
            return JSONResponse({"access_token": access, "expires_in": self.lifetime, "token_type": "Bearer"})

        @app.post("/v1/projects/{project}/messages:send")
        async def send(project: str, request: Request) -> JSONResponse:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            self.sends.append({"project": project, "bearer": bearer, "body": await request.json()})
            if bearer not in self.issued or bearer in self.revoked or self.revoke_all:
                return JSONResponse({"error": UNAUTHENTICATED}, status_code=401)
            return JSONResponse({"name": f"projects/{project}/messages/{len(self.sends)}"})

        return app


@pytest.fixture
async def google() -> AsyncIterator[Google]:
    key = _key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    box = Google(url="", info={}, verify_with=key.public_key())
    async with served(box.app()) as url:
        box.url = url
        box.info.update(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": uuid.uuid4().hex,
                "private_key": pem.decode(),
                "client_email": f"pfms-push@{PROJECT}.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": f"{url}/token",
            }
        )
        yield box


def access(google: Google) -> FcmAccess:
    return FcmAccess(google.info, timeout=5)


async def test_a_token_is_minted_from_the_key_once_and_reused_until_stale(google: Google) -> None:
    fcm = access(google)
    first = await fcm.token()
    assert await fcm.token() == first
    assert len(google.grants) == 1 and google.refusals == []
    (claims,) = google.grants
    assert claims["iss"] == google.info["client_email"] and claims["exp"] - claims["iat"] == 3600

    google.lifetime = 60  # inside google-auth's refresh margin (3 min 45 s): stale as soon as it arrives
    second = await fcm.token(refused=first)
    assert await fcm.token() != second
    assert len(google.grants) == 3


async def test_concurrent_callers_share_one_refresh(google: Google) -> None:
    fcm = access(google)
    tokens = await asyncio.gather(*(fcm.token() for _ in range(8)))
    assert len(set(tokens)) == 1 and len(google.grants) == 1
    renewed = await asyncio.gather(*(fcm.token(refused=tokens[0]) for _ in range(8)))
    assert len(set(renewed)) == 1 and renewed[0] != tokens[0]
    assert len(google.grants) == 2, "a token refused by FCM is renewed once, not once per caller"


async def test_a_key_google_does_not_know_is_a_retryable_send_error(google: Google) -> None:
    google.verify_with = _key().public_key()
    with pytest.raises(SendError) as info:
        await access(google).token()
    assert "fcm oauth" in str(info.value) and "invalid_grant" in str(info.value)
    assert info.value.permanent is False
    assert len(google.refusals) == 1 and google.grants == []


def test_the_key_comes_from_a_file_or_a_secret_never_both(google: Google, tmp_path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(google.info))
    assert Settings(fcm_service_account_file=str(path)).fcm_service_account() == google.info
    assert Settings(fcm_service_account_json=json.dumps(google.info)).fcm_service_account() == google.info
    assert Settings().fcm_service_account() is None
    assert Settings(fcm_service_account_json="", fcm_service_account_file="").fcm_service_account() is None
    with pytest.raises(ValidationError, match="not both"):
        Settings(fcm_service_account_file=str(path), fcm_service_account_json="{}")
    keyless = {k: v for k, v in google.info.items() if k != "private_key"}
    with pytest.raises(ValueError, match="lacks private_key"):
        Settings(fcm_service_account_json=json.dumps(keyless)).fcm_service_account()
    with pytest.raises(ValueError, match="not JSON"):
        Settings(fcm_service_account_json="{nope").fcm_service_account()
    no_project = {k: v for k, v in google.info.items() if k != "project_id"}
    with pytest.raises(ValueError, match="no FCM project"):
        Settings(fcm_service_account_json=json.dumps(no_project)).fcm_service_account()
    assert Settings(fcm_service_account_json=json.dumps(no_project), fcm_project_id="p").fcm_service_account()


async def push_rows(env, user: uuid.UUID) -> list[Delivery]:
    async with env.svc.db.sessions() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.user_id == user, Delivery.channel == "push"))
        return list(rows.all())


async def pushed(env, user: uuid.UUID, status: str, count: int) -> list[Delivery]:
    async def check() -> bool:
        rows = await push_rows(env, user)
        return len(rows) == count and all(r.status == status for r in rows)

    await env.until(check)
    return await push_rows(env, user)


async def someone_with_devices(env, *tokens: str) -> uuid.UUID:
    user = await env.person()
    for token in tokens:
        response = await env.svc.client.post(
            "/api/v1/notifications/devices", json={"token": token, "platform": "android"}, headers=env.keys.auth(user)
        )
        assert response.status_code == 201, response.text
    return user


@pytest.mark.integration
async def test_push_reaches_every_device_and_a_revoked_token_is_renewed_once(start, google: Google) -> None:
    env = await start(fcm_base_url=google.url, fcm_service_account_json=json.dumps(google.info))
    user = await someone_with_devices(env, "device-aaaa", "device-bbbb")
    await env.publish(NotificationRequested(user_id=user, category="security", title="New sign-in", message="Berlin"))
    await pushed(env, user, "sent", 1)
    assert len(google.grants) == 1, "one token for both devices"
    assert {s["project"] for s in google.sends} == {PROJECT}, "the project comes from the key"
    assert sorted(s["body"]["message"]["token"] for s in google.sends) == ["device-aaaa", "device-bbbb"]
    assert {s["bearer"] for s in google.sends} == {google.issued[0]}
    assert google.sends[0]["body"]["message"]["notification"] == {"title": "New sign-in", "body": "Berlin"}

    google.revoked.add(google.issued[0])
    google.sends.clear()
    await env.publish(NotificationRequested(user_id=user, category="security", title="Again", message="Paris"))
    await pushed(env, user, "sent", 2)
    assert len(google.grants) == 2, "the 401 renewed the token once; the second device used the new one"
    assert [s["bearer"] for s in google.sends] == [google.issued[0], google.issued[1], google.issued[1]]


@pytest.mark.integration
async def test_fcm_refusing_every_token_fails_the_push_after_one_renewal(start, google: Google) -> None:
    env = await start(fcm_base_url=google.url, fcm_service_account_json=json.dumps(google.info))
    google.revoke_all = True
    user = await someone_with_devices(env, "device-cccc")
    await env.publish(NotificationRequested(user_id=user, category="security", title="Code", message="1"))
    (row,) = await pushed(env, user, "failed", 1)
    assert row.attempts == 1 and row.last_error is not None and "401" in row.last_error
    assert len(google.sends) == 2 and len(google.grants) == 2


@pytest.mark.integration
async def test_without_a_key_push_fails_at_once_and_the_inbox_still_has_it(env) -> None:
    user = await someone_with_devices(env, "device-dddd")
    await env.publish(NotificationRequested(user_id=user, category="security", title="Code", message="1"))
    (row,) = await pushed(env, user, "failed", 1)
    assert row.attempts == 1 and row.last_error == "push is not configured (no FCM service-account key)"
    assert [n.title for n in await env.notifications(user)] == ["Code"]
