"""Roles ride in the verified access token: `CurrentPrincipal` reads them, `AdminUser` requires `admin`."""

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from pfms_platform.errors import Unauthorized, install_error_handlers
from pfms_platform.security import (
    AdminUser,
    CurrentPrincipal,
    JWKSCache,
    TokenVerifier,
    roles_of,
)
from pfms_platform.testing.keys import TestKeys


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys()


@pytest.fixture
def client(keys: TestKeys) -> httpx.AsyncClient:
    cache = JWKSCache("http://127.0.0.1:9/unused")
    cache.load(keys.jwks())
    cache._fetched_at = time.monotonic()  # no network in unit tests: the keys are loaded
    app = FastAPI()
    app.state.verifier = TokenVerifier(cache, issuer="pfms-auth", audience="pfms")
    install_error_handlers(app)

    @app.get("/who")
    async def who(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"user_id": str(principal.user_id), "roles": sorted(principal.roles)}

    @app.get("/admin")
    async def admin(user: AdminUser) -> dict[str, str]:
        return {"user_id": str(user)}

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_roles_come_from_the_claim_and_default_to_none() -> None:
    assert roles_of({"roles": ["admin", "support"]}) == {"admin", "support"}
    assert roles_of({}) == frozenset()


@pytest.mark.parametrize("bad", ["admin", [1], {"admin": True}, None])
def test_a_roles_claim_of_another_shape_is_refused(bad: object) -> None:
    with pytest.raises(Unauthorized):
        roles_of({"roles": bad})


async def test_the_principal_carries_the_tokens_roles(keys: TestKeys, client: httpx.AsyncClient) -> None:
    user = uuid.uuid4()
    answer = await client.get("/who", headers=keys.auth(user, roles=["admin"]))
    assert answer.json() == {"user_id": str(user), "roles": ["admin"]}
    plain = await client.get("/who", headers=keys.auth(user))
    assert plain.json()["roles"] == []


async def test_admin_routes_admit_admins_only(keys: TestKeys, client: httpx.AsyncClient) -> None:
    user = uuid.uuid4()
    admitted = await client.get("/admin", headers=keys.auth(user, roles=["admin"]))
    assert admitted.status_code == 200 and admitted.json() == {"user_id": str(user)}
    for roles in ([], ["support"], ["ADMIN"]):
        refused = await client.get("/admin", headers=keys.auth(user, roles=roles))
        assert refused.status_code == 403
        body = refused.json()
        assert body["success"] is False and body["error"]["code"] == "FORBIDDEN"
    assert (await client.get("/admin")).status_code == 401


async def test_a_forged_admin_token_is_refused(keys: TestKeys, client: httpx.AsyncClient) -> None:
    """Claiming `admin` in a token auth did not sign gets nothing: the signature is checked first."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "iss": "pfms-auth", "aud": "pfms", "iat": now, "nbf": now}
    forged = jwt.encode(
        {**claims, "exp": now + 60, "jti": "x", "roles": ["admin"]}, other, algorithm="RS256", headers={"kid": keys.kid}
    )
    answer = await client.get("/admin", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
