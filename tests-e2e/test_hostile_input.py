"""Hostile and broken input through the gateway and straight at a service: a clear 4xx, nothing changed."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from journeys import Person, profile_of, sign_up

from pfms_auth.keys import sealer, unseal
from pfms_auth.settings import Settings as AuthSettings
from pfms_local.fleet import Fleet

pytestmark = pytest.mark.e2e


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def auth_key(fleet: Fleet) -> Any:
    """The key auth signs with (read from its database, as only a test may), to craft validly signed tokens."""
    conn = await asyncpg.connect(fleet.stack.postgres.url(fleet.databases["auth"], driver="postgresql"))
    try:
        row = await conn.fetchrow(
            "SELECT kid, private_key_encrypted FROM signing_keys ORDER BY created_at DESC LIMIT 1"
        )
    finally:
        await conn.close()
    return unseal(row["kid"], bytes(row["private_key_encrypted"]), sealer(AuthSettings().key_encryption_key))


def claims(person: Person, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": person.user_id,
        "iss": "pfms-auth",
        "aud": "pfms",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    return {**base, **overrides}


async def hostile_tokens(fleet: Fleet, person: Person) -> dict[str, str]:
    """Tokens Kong itself refuses (bad signature, algorithm, time or key) — the services refuse them too."""
    key = await auth_key(fleet)
    now = int(time.time())
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    body = _b64(json.dumps(claims(person)).encode())
    hs256 = f"{header}.{body}." + _b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    none = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": key.kid}).encode()) + f".{body}."
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "alg-none": none,
        "hs256-with-public-key": hs256,
        "forged-signature": jwt.encode(claims(person), stranger, algorithm="RS256", headers={"kid": key.kid}),
        "unknown-kid": jwt.encode(claims(person), stranger, algorithm="RS256", headers={"kid": "not-a-key"}),
        "expired": jwt.encode(
            claims(person, exp=now - 120, iat=now - 1000, nbf=now - 1000),
            key.private_key,
            algorithm="RS256",
            headers={"kid": key.kid},
        ),
        "not-yet-valid": jwt.encode(
            claims(person, nbf=now + 3600), key.private_key, algorithm="RS256", headers={"kid": key.kid}
        ),
    }


async def audience_tokens(fleet: Fleet, person: Person) -> dict[str, str]:
    """Validly signed, current tokens for someone else: Kong lets them through, the services must not."""
    key = await auth_key(fleet)
    return {
        "wrong-aud": jwt.encode(
            claims(person, aud="another-app"), key.private_key, algorithm="RS256", headers={"kid": key.kid}
        ),
        "wrong-iss": jwt.encode(
            claims(person, iss="https://evil.example"), key.private_key, algorithm="RS256", headers={"kid": key.kid}
        ),
    }


async def test_bad_tokens_are_refused_at_the_gateway_and_at_the_service(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    person = await sign_up(gateway)
    direct = httpx.AsyncClient(base_url=fleet.url("user"), timeout=10)
    try:
        for name, token in (await hostile_tokens(fleet, person)).items():
            headers = {"Authorization": f"Bearer {token}"}
            at_gateway = await gateway.get("/api/v1/user/profile", headers=headers)
            assert at_gateway.status_code == 401, (name, at_gateway.text)
            at_service = await direct.get("/api/v1/user/profile", headers=headers)
            assert at_service.status_code == 401, (name, at_service.text)
            assert at_service.json()["error"]["code"] == "UNAUTHORIZED", name
        for name, token in (await audience_tokens(fleet, person)).items():
            headers = {"Authorization": f"Bearer {token}"}
            for client in (gateway, direct):
                refused = await client.get("/api/v1/user/profile", headers=headers)
                assert refused.status_code == 401, (name, refused.text)
                assert refused.json()["success"] is False, name
    finally:
        await direct.aclose()


async def test_broken_bodies_answer_in_the_envelope_and_change_nothing(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway)
    before = await profile_of(gateway, person)
    h = {**person.headers, "Content-Type": "application/json"}

    malformed = await gateway.put("/api/v1/user/profile", headers=h, content=b'{"first_name": "A",')
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "MALFORMED_JSON"

    wrong_type = await gateway.put("/api/v1/user/profile", headers=h, json={"first_name": ["not", "a", "name"]})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["details"][0]["field"] == "first_name"

    unknown = await gateway.put("/api/v1/user/profile", headers=h, json={"first_name": "A", "is_admin": True})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "is_admin"

    bad_currency = await gateway.put("/api/v1/user/profile", headers=h, json={"currency": "XXX"})
    assert bad_currency.status_code == 422 and bad_currency.json()["error"]["details"][0]["field"] == "currency"

    oversize = await gateway.put(
        "/api/v1/user/profile", headers=h, content=b'{"first_name": "' + b"a" * 1_100_000 + b'"}'
    )
    assert oversize.status_code == 413

    assert await profile_of(gateway, person) == before


async def test_sql_and_html_in_strings_are_stored_as_text(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway)
    sql = "Robert'); DROP TABLE user_profiles;--"
    html = "<script>alert('x')</script>"
    saved = await gateway.put(
        "/api/v1/user/profile", headers=person.headers, json={"first_name": sql, "last_name": html}
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["content-type"].startswith("application/json")
    profile = await profile_of(gateway, person)
    assert (profile["first_name"], profile["last_name"]) == (sql, html)
    conn = await asyncpg.connect(fleet.stack.postgres.url(fleet.databases["user"], driver="postgresql"))
    try:
        assert await conn.fetchval("SELECT count(*) FROM user_profiles") >= 1
    finally:
        await conn.close()


async def test_another_users_family_invitation_is_a_404(gateway: httpx.AsyncClient) -> None:
    alice = await sign_up(gateway)
    bob = await sign_up(gateway)
    mallory = await sign_up(gateway)
    invite = await gateway.post(
        "/api/v1/user/family/invite", headers=alice.headers, json={"email": bob.email, "relationship": "sibling"}
    )
    assert invite.status_code == 201, invite.text
    invitation_id = invite.json()["data"]["id"]
    for path in (f"/api/v1/user/family/invitations/{invitation_id}/accept", f"/api/v1/user/family/{invitation_id}"):
        method = "POST" if path.endswith("accept") else "DELETE"
        stolen = await gateway.request(method, path, headers=mallory.headers)
        assert stolen.status_code == 404, (path, stolen.text)
        assert stolen.json()["error"]["code"] == "NOT_FOUND"
    family = (await gateway.get("/api/v1/user/family", headers=bob.headers)).json()["data"]
    assert invitation_id in json.dumps(family)
    accepted = await gateway.post(f"/api/v1/user/family/invitations/{invitation_id}/accept", headers=bob.headers)
    assert accepted.status_code == 200, accepted.text
