"""Token attacks at the gateway and straight at every service of the catalogue (zero trust: each
service checks the token again), a refresh token replayed after rotation, the token of a deleted
account, brute force against the login, and the per-user request limit."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from journeys import PASSWORD, Person, sign_up

from pfms_auth.keys import sealer, unseal
from pfms_auth.settings import Settings as AuthSettings
from pfms_local.fleet import Fleet, wait_for
from pfms_platform.catalogue import SERVICES

pytestmark = pytest.mark.e2e

PROBES = {
    "auth": "/api/v1/auth/sessions",
    "user": "/api/v1/user/profile",
    "expense": "/api/v1/expenses",
    "income": "/api/v1/income/sources",
    "investment": "/api/v1/portfolios",
    "loan": "/api/v1/loans",
    "group": "/api/v1/groups",
    "tax": "/api/v1/tax/deductions",
    "ai": "/api/v1/ai/insights",
    "notification": "/api/v1/notifications",
    "automation": "/api/v1/automation/rules",
    "report": "/api/v1/reports",
    "market-data": "/api/v1/market/forex/EUR-USD",
    "savings": "/api/v1/savings/goals",
    "accounts": "/api/v1/accounts",
}
"""One authenticated GET per service, answering 200 to its owner's valid token."""

KONG_REFUSES = ("alg-none", "hs256-with-public-key", "forged-signature", "unknown-kid", "expired", "not-yet-valid")
"""Refused by the gateway's jwt plugin itself (signature, algorithm, key, time)."""
SERVICE_REFUSES = ("wrong-aud", "wrong-iss")
"""Validly signed and current: Kong (which checks no `aud`/`iss`) lets them through; the service must not."""


def test_every_service_of_the_catalogue_has_a_probe() -> None:
    assert set(PROBES) == {s.name for s in SERVICES}


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


async def forged_tokens(fleet: Fleet, person: Person) -> dict[str, str]:
    """Every token attack of issue 9, aimed at `person`'s account."""
    key = await auth_key(fleet)
    now = int(time.time())

    def signed(**overrides: Any) -> str:
        return jwt.encode(claims(person, **overrides), key.private_key, algorithm="RS256", headers={"kid": key.kid})

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
        "expired": signed(exp=now - 120, iat=now - 1000, nbf=now - 1000),
        "not-yet-valid": signed(nbf=now + 3600),
        "wrong-aud": signed(aud="another-app"),
        "wrong-iss": signed(iss="https://evil.example"),
    }


@pytest.fixture(scope="module")
async def victim(fleet: Fleet) -> AsyncIterator[Person]:
    async with httpx.AsyncClient(base_url=fleet.gateway_url, timeout=15.0) as gateway:
        yield await sign_up(gateway, wait_profile=False)


@pytest.fixture(scope="module")
async def forged(fleet: Fleet, victim: Person) -> dict[str, str]:
    return await forged_tokens(fleet, victim)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("service", sorted(PROBES))
async def test_forged_tokens_are_refused_at_the_gateway_and_at_the_service(
    service: str, fleet: Fleet, gateway: httpx.AsyncClient, victim: Person, forged: dict[str, str]
) -> None:
    path = PROBES[service]
    assert set(forged) == {*KONG_REFUSES, *SERVICE_REFUSES}
    async with httpx.AsyncClient(base_url=fleet.url(service), timeout=15.0) as direct:
        for client in (gateway, direct):  # the owner's real token works on this route
            real = await client.get(path, headers=victim.headers)
            assert real.status_code == 200, (service, real.text)
        names = list(forged)
        at_gateway = await asyncio.gather(*(gateway.get(path, headers=_bearer(forged[n])) for n in names))
        at_service = await asyncio.gather(*(direct.get(path, headers=_bearer(forged[n])) for n in names))
    for name, via, straight in zip(names, at_gateway, at_service, strict=True):
        assert via.status_code == 401, (service, name, "gateway", via.text)
        assert straight.status_code == 401, (service, name, "service", straight.text)
        assert straight.json()["error"]["code"] == "UNAUTHORIZED", (service, name)
        if name in SERVICE_REFUSES:  # passed by Kong, refused by the service in the fleet's envelope
            assert via.json()["error"]["code"] == "UNAUTHORIZED", (service, name)


async def test_a_refresh_token_replayed_after_rotation_revokes_the_session(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway, wait_profile=False)
    rotated = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    assert rotated.status_code == 200, rotated.text
    pair = rotated.json()["data"]
    replayed = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "UNAUTHORIZED"
    # reuse detection revoked the whole session: the rotated refresh token and its access token are dead too
    assert (
        await gateway.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    sessions = await gateway.get("/api/v1/auth/sessions", headers=_bearer(pair["access_token"]))
    assert sessions.status_code == 401


async def test_a_deleted_accounts_unexpired_token_is_refused_by_every_service(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    """Each service hears `user.deleted` and refuses the subject from then on (pfms_platform.revocation)."""
    person = await sign_up(gateway, wait_profile=False)
    clients = {name: httpx.AsyncClient(base_url=fleet.url(name), timeout=15.0) for name in PROBES}
    try:
        before = await asyncio.gather(*(clients[n].get(p, headers=person.headers) for n, p in PROBES.items()))
        assert [r.status_code for r in before] == [200] * len(PROBES), [r.text for r in before if r.status_code != 200]
        deleted = await gateway.request(
            "DELETE", "/api/v1/auth/account", headers=person.headers, json={"password": PASSWORD}
        )
        assert deleted.status_code == 200, deleted.text

        async def still_accepted() -> list[str]:
            direct = await asyncio.gather(*(clients[n].get(p, headers=person.headers) for n, p in PROBES.items()))
            via = await asyncio.gather(*(gateway.get(p, headers=person.headers) for p in PROBES.values()))
            return [
                f"{name} {where}: {r.status_code}"
                for name, straight, through in zip(PROBES, direct, via, strict=True)
                for where, r in (("service", straight), ("gateway", through))
                if r.status_code != 401
            ]

        async def refused_everywhere() -> bool:
            return not await still_accepted()

        try:
            await wait_for(refused_everywhere, timeout=30, interval=0.5, message="deleted account refused")
        except TimeoutError as exc:
            raise AssertionError(f"still accepted: {await still_accepted()}") from exc
        refused = await clients["expense"].get(PROBES["expense"], headers=person.headers)
        assert refused.json()["error"]["code"] == "UNAUTHORIZED"
    finally:
        for client in clients.values():
            await client.aclose()


async def test_five_failed_logins_lock_the_account_at_the_gateway(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway, wait_profile=False)
    wrong = {"email": person.email, "password": "not the password at all"}
    for attempt in range(5):
        failed = await gateway.post("/api/v1/auth/login", json=wrong)
        assert failed.status_code == 401, (attempt, failed.text)
    locked = await gateway.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"]["code"] == "RATE_LIMITED" and int(locked.headers["retry-after"]) > 0
    # the lock is the account's: the person's existing session still works
    assert (await gateway.get("/api/v1/auth/sessions", headers=person.headers)).status_code == 200


async def test_the_101st_request_of_a_minute_is_refused_per_user(gateway: httpx.AsyncClient) -> None:
    """100 requests a minute per user (counted by the services from `sub`, across the fleet)."""
    person = await sign_up(gateway, wait_profile=False)  # no request with the token yet
    other = await sign_up(gateway, wait_profile=False)
    path = PROBES["savings"]
    if time.time() % 60 > 50:  # the window is the clock's minute: start the burst (a few seconds) inside one
        await asyncio.sleep(60.5 - time.time() % 60)
    answers: list[int] = []
    for _ in range(10):
        batch = await asyncio.gather(*(gateway.get(path, headers=person.headers) for _ in range(10)))
        answers.extend(r.status_code for r in batch)
    assert answers == [200] * 100
    refused = await gateway.get(path, headers=person.headers)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert (await gateway.get(path, headers=other.headers)).status_code == 200
