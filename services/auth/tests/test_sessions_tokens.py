"""Refresh rotation and reuse detection, logout, session listing/revocation, and hostile access tokens."""

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from pfms_auth import tokens
from pfms_auth.models import RefreshToken, Session
from pfms_platform.testing import TestKeys

from .conftest import Harness, Person

pytestmark = pytest.mark.integration

REFRESH = "/api/v1/auth/refresh"
SESSIONS = "/api/v1/auth/sessions"


async def _refresh(auth: Harness, token: str):
    return await auth.client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_rotates_the_token_and_keeps_the_session(auth: Harness) -> None:
    person = await auth.signed_in()
    first = person.refresh_token
    response = await _refresh(auth, first)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["refresh_token"] != first and data["access_token"] != person.access_token
    assert data["session_id"] == person.session_id
    second = await _refresh(auth, data["refresh_token"])
    assert second.status_code == 200
    assert await auth.count(RefreshToken) == 3  # the whole family, each stored as a digest
    assert await auth.count(RefreshToken, RefreshToken.token_hash == first) == 0
    new = Person(person.email, person.password, person.user_id)
    auth.take_tokens(new, second.json()["data"])
    assert (await auth.client.get(SESSIONS, headers=new.headers)).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(auth: Harness) -> None:
    person = await auth.signed_in()
    stolen = person.refresh_token
    rotated = (await _refresh(auth, stolen)).json()["data"]
    replay = await _refresh(auth, stolen)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "UNAUTHORIZED"
    session = await auth.scalar(select(Session).where(Session.id == uuid.UUID(person.session_id)))
    assert session.revoked_at is not None and session.revoked_reason == "refresh_reuse"
    # the legitimate holder's newest token dies with the family, and so do its access tokens
    assert (await _refresh(auth, rotated["refresh_token"])).status_code == 401
    headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert (await auth.client.get(SESSIONS, headers=headers)).status_code == 401
    # other sessions of the same person are untouched
    other = await auth.login(Person(person.email, person.password, person.user_id))
    assert (await auth.client.get(SESSIONS, headers=other.headers)).status_code == 200


async def test_unknown_and_expired_refresh_tokens_are_refused(auth: Harness) -> None:
    assert (await _refresh(auth, "not-a-token")).status_code == 401
    person = await auth.signed_in()
    async with auth.svc.db.sessions() as db, db.begin():
        row = await db.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(person.refresh_token))
        )
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert (await _refresh(auth, person.refresh_token)).status_code == 401


async def test_logout_revokes_the_current_session_only(auth: Harness) -> None:
    person = await auth.signed_in()
    other = await auth.login(Person(person.email, person.password, person.user_id))
    response = await auth.client.post("/api/v1/auth/logout", headers=person.headers)
    assert response.status_code == 200 and response.json()["success"] is True
    assert (await auth.client.get(SESSIONS, headers=person.headers)).status_code == 401
    assert (await _refresh(auth, person.refresh_token)).status_code == 401
    assert (await auth.client.get(SESSIONS, headers=other.headers)).status_code == 200


async def test_logout_all_revokes_every_session(auth: Harness) -> None:
    person = await auth.signed_in()
    other = await auth.login(Person(person.email, person.password, person.user_id))
    assert (await auth.client.post("/api/v1/auth/logout-all", headers=person.headers)).status_code == 200
    for who in (person, other):
        assert (await auth.client.get(SESSIONS, headers=who.headers)).status_code == 401
        assert (await _refresh(auth, who.refresh_token)).status_code == 401


async def test_sessions_lists_the_callers_active_sessions_marking_the_current_one(auth: Harness) -> None:
    person = await auth.signed_in()
    phone = await auth.login(Person(person.email, person.password, person.user_id), **{"User-Agent": "phone/2"})
    stranger = await auth.signed_in()
    response = await auth.client.get(SESSIONS, headers=person.headers)
    assert response.status_code == 200
    listed = {s["id"]: s for s in response.json()["data"]}
    assert set(listed) == {person.session_id, phone.session_id}
    assert listed[person.session_id]["current"] is True and listed[phone.session_id]["current"] is False
    assert listed[phone.session_id]["user_agent"] == "phone/2"
    assert listed[phone.session_id]["ip_address"] == "127.0.0.1"
    assert stranger.session_id not in listed


async def test_revoking_one_session(auth: Harness) -> None:
    person = await auth.signed_in()
    phone = await auth.login(Person(person.email, person.password, person.user_id))
    response = await auth.client.delete(f"{SESSIONS}/{phone.session_id}", headers=person.headers)
    assert response.status_code == 200
    assert (await auth.client.get(SESSIONS, headers=phone.headers)).status_code == 401
    assert (await _refresh(auth, phone.refresh_token)).status_code == 401
    assert (await auth.client.get(SESSIONS, headers=person.headers)).status_code == 200


async def test_another_users_session_is_not_found_and_stays_alive(auth: Harness) -> None:
    person, stranger = await auth.signed_in(), await auth.signed_in()
    for session_id in (stranger.session_id, str(uuid.uuid4())):
        response = await auth.client.delete(f"{SESSIONS}/{session_id}", headers=person.headers)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await auth.client.get(SESSIONS, headers=stranger.headers)).status_code == 200
    bad = await auth.client.delete(f"{SESSIONS}/not-a-uuid", headers=person.headers)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "session_id"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(person: Person, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims = {
        "sub": str(person.user_id),
        "sid": person.session_id,
        "iss": "pfms-auth",
        "aud": "pfms",
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


async def test_hostile_access_tokens_are_refused(auth: Harness, jwt_keys: TestKeys) -> None:
    person = await auth.signed_in()
    store = auth.svc.app.state.runtime.keys
    key, kid = store.current.private_key, store.current.kid
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def signed(**overrides: object) -> str:
        return jwt.encode(_claims(person, **overrides), key, algorithm="RS256", headers={"kid": kid})

    header_none = _b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(_claims(person)).encode())
    hs_header = _b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
    hs_signature = _b64(hmac.new(public_pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest())
    forged = jwt.encode(_claims(person), jwt_keys.private_key, algorithm="RS256", headers={"kid": kid})
    hostile = {
        "expired": signed(iat=int(time.time()) - 1000, nbf=int(time.time()) - 1000, exp=int(time.time()) - 60),
        "forged signature": forged,
        "foreign key": jwt_keys.token(person.user_id, sid=person.session_id),
        "alg none": f"{header_none}.{payload}.",
        "hs256 with the public key": f"{hs_header}.{payload}.{hs_signature}",
        "wrong aud": signed(aud="someone-else"),
        "wrong iss": signed(iss="evil"),
        "no session": signed(sid=None),
        "someone else's session": signed(sid=str(uuid.uuid4())),
        "garbage": "not.a.jwt",
    }
    assert (await auth.client.get(SESSIONS, headers={"Authorization": f"Bearer {signed()}"})).status_code == 200
    for name, token in hostile.items():
        response = await auth.client.get(SESSIONS, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "UNAUTHORIZED", name
    assert (await auth.client.get(SESSIONS)).status_code == 401
