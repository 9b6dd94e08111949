"""Signing keys (JWKS, rotation by the CLI, first key under concurrency), account deletion, schema drift."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from sqlalchemy import delete, func, select

from pfms_auth import keys
from pfms_auth.keystore import KeyStore
from pfms_auth.models import (
    AuditEvent,
    EmailVerificationToken,
    MfaBackupCode,
    MfaSetting,
    PasswordResetToken,
    RefreshToken,
    Session,
    SigningKey,
    User,
)
from pfms_platform.db import Database
from pfms_platform.security import JWKSCache, TokenVerifier
from pfms_platform.testing.schema import schema_drift

from .conftest import PASSWORD, Harness, Person, totp_at

pytestmark = pytest.mark.integration

JWKS = "/.well-known/jwks.json"
SESSIONS = "/api/v1/auth/sessions"
ACCOUNT = "/api/v1/auth/account"


def _rotate_with_the_cli(database_url: str) -> str:
    """`pfms-auth rotate-keys`, run the way an operator would, against the test database."""
    script = Path(sys.executable).with_name("pfms-auth")
    env = {**os.environ, "PFMS_AUTH_DATABASE_URL": database_url, "PFMS_AUTH_ENVIRONMENT": "test"}
    done = subprocess.run([str(script), "rotate-keys"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().rsplit(" ", 1)[-1]


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def test_jwks_publishes_public_keys_without_auth(auth: Harness) -> None:
    response = await auth.client.get(JWKS)
    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert key["alg"] == "RS256" and key["use"] == "sig" and key["kid"] == keys.thumbprint(key)
    stored = await auth.scalar(select(SigningKey.private_key_encrypted))
    assert b"PRIVATE KEY" not in stored


async def test_rotation_signs_with_the_new_key_and_keeps_old_tokens_valid(auth: Harness) -> None:
    person = await auth.signed_in()
    old_token, old_kid = person.access_token, _kid(person.access_token)

    new_kid = await asyncio.to_thread(_rotate_with_the_cli, auth.svc.settings.database_url)
    assert new_kid != old_kid
    published = (await auth.client.get(JWKS)).json()["keys"]
    assert [k["kid"] for k in published] == [new_kid, old_kid]

    fresh = await auth.login(Person(person.email, person.password, person.user_id))
    assert _kid(fresh.access_token) == new_kid
    for token in (old_token, fresh.access_token):  # nobody is logged out
        assert (await auth.client.get(SESSIONS, headers={"Authorization": f"Bearer {token}"})).status_code == 200
    refreshed = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    assert _kid(refreshed.json()["data"]["access_token"]) == new_kid

    # any other service, loading auth's JWKS, accepts both
    cache = JWKSCache("http://127.0.0.1:9/unused")
    cache.load({"keys": published})
    verifier = TokenVerifier(cache, issuer="pfms-auth", audience="pfms")
    for token in (old_token, fresh.access_token):
        assert (await verifier.verify(token))["sub"] == str(person.user_id)

    # a second rotation retires the first key from JWKS
    newest = await asyncio.to_thread(_rotate_with_the_cli, auth.svc.settings.database_url)
    assert [k["kid"] for k in (await auth.client.get(JWKS)).json()["keys"]] == [newest, new_kid]


async def test_replicas_starting_together_create_one_first_key(auth: Harness) -> None:
    url = auth.svc.settings.database_url
    async with auth.svc.db.sessions() as db, db.begin():
        await db.execute(delete(SigningKey))
    databases = [Database(url, pool_size=1) for _ in range(4)]
    box = keys.sealer(auth.svc.settings.key_encryption_key)
    stores = [KeyStore(db, box, 2048) for db in databases]
    try:
        await asyncio.gather(*(store.ensure_key() for store in stores))
    finally:
        for db in databases:
            await db.dispose()
    assert await auth.scalar(select(func.count()).select_from(SigningKey)) == 1
    assert len({store.current.kid for store in stores if store.current}) == 1


async def test_delete_account_removes_every_row_and_announces_it(auth: Harness) -> None:
    person = await auth.signed_in()
    stranger = await auth.signed_in()
    await auth.client.post("/api/v1/auth/password/forgot", json={"email": person.email})
    setup = (await auth.client.post("/api/v1/auth/mfa/setup", headers=person.headers)).json()["data"]
    await auth.client.post(
        "/api/v1/auth/mfa/enable", json={"code": totp_at(setup["secret"], -1)}, headers=person.headers
    )

    wrong = await auth.client.request(
        "DELETE", ACCOUNT, json={"password": "not my password at all"}, headers=person.headers
    )
    no_code = await auth.client.request("DELETE", ACCOUNT, json={"password": PASSWORD}, headers=person.headers)
    assert wrong.status_code == no_code.status_code == 403
    assert await auth.user_id(person.email) == person.user_id

    response = await auth.client.request(
        "DELETE", ACCOUNT, json={"password": PASSWORD, "code": totp_at(setup["secret"])}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    for model in (User, Session, PasswordResetToken, EmailVerificationToken, MfaSetting, MfaBackupCode, AuditEvent):
        column = model.id if model is User else model.user_id
        assert await auth.count(model, column == person.user_id) == 0, model.__name__
    assert await auth.count(RefreshToken) == 1  # the stranger's
    [deleted] = await auth.events("user.deleted")
    assert deleted["subject"] == str(person.user_id)
    # the person's earlier events (user.created with the email, mail tokens) left the outbox
    assert [e["type"] for e in await auth.events() if e["subject"] == str(person.user_id)] == ["user.deleted"]
    assert any(e["subject"] == str(stranger.user_id) for e in await auth.events())
    assert deleted["data"]["user_id"] == str(person.user_id) and deleted["data"]["deleted_at"]

    assert (await auth.client.get(SESSIONS, headers=person.headers)).status_code == 401
    login = await auth.client.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert login.status_code == 401
    assert (await auth.client.get(SESSIONS, headers=stranger.headers)).status_code == 200


async def test_the_migrations_match_the_models(auth: Harness) -> None:
    assert await schema_drift(auth.svc.db, "pfms_auth") == []
