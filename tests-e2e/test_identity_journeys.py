"""Identity journeys through the gateway, the way a client app lives them (issue 3 §7)."""

import time

import asyncpg
import httpx
import pyotp
import pytest
from journeys import PASSWORD, BusTap, Person, profile_of, sign_up

from pfms_local.fleet import Fleet, wait_for

pytestmark = pytest.mark.e2e


async def test_register_profile_login_update_refresh_reuse_logout(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway)
    profile = await profile_of(gateway, person)
    assert profile["email"] == person.email

    updated = await gateway.put(
        "/api/v1/user/profile",
        headers=person.headers,
        json={"first_name": "Asha", "currency": "EUR", "timezone": "Europe/Paris", "language": "fr-FR"},
    )
    assert updated.status_code == 200, updated.text
    again = await profile_of(gateway, person)
    assert (again["first_name"], again["currency"], again["timezone"]) == ("Asha", "EUR", "Europe/Paris")

    first_refresh = person.refresh_token
    rotated = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert rotated.status_code == 200, rotated.text
    pair = rotated.json()["data"]
    assert pair["refresh_token"] != first_refresh

    # The old refresh token again: reuse detected, the whole family is revoked.
    reused = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first_refresh})
    assert reused.status_code == 401
    assert reused.json()["success"] is False
    revoked = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert revoked.status_code == 401

    # A fresh login, then logout: the session's refresh token stops working.
    login = await gateway.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    tokens = login.json()["data"]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await gateway.post("/api/v1/auth/logout", headers=headers)).status_code == 200
    after = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert after.status_code == 401
    sessions = await gateway.get("/api/v1/auth/sessions", headers=headers)
    assert sessions.status_code == 401


async def test_mfa_enable_then_login_with_totp_and_with_a_backup_code(gateway: httpx.AsyncClient) -> None:
    person = await sign_up(gateway)
    setup = await gateway.post("/api/v1/auth/mfa/setup", headers=person.headers)
    assert setup.status_code == 200, setup.text
    totp = pyotp.TOTP(setup.json()["data"]["secret"])
    enabled = await gateway.post("/api/v1/auth/mfa/enable", headers=person.headers, json={"code": totp.now()})
    assert enabled.status_code == 200, enabled.text
    backup_codes = enabled.json()["data"]["backup_codes"]
    assert len(backup_codes) == 10

    credentials = {"email": person.email, "password": PASSWORD}
    challenge = (await gateway.post("/api/v1/auth/login", json=credentials)).json()["data"]
    assert challenge["mfa_required"] is True and "access_token" not in challenge
    # Each TOTP code works once and enabling spent this step's code: sign in with the next step's
    # (auth accepts one step either side of now, for clock drift).
    code = totp.at(time.time() + totp.interval)
    verified = await gateway.post("/api/v1/auth/mfa/verify", json={"challenge": challenge["challenge"], "code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["access_token"]

    challenge = (await gateway.post("/api/v1/auth/login", json=credentials)).json()["data"]
    with_backup = await gateway.post(
        "/api/v1/auth/mfa/verify", json={"challenge": challenge["challenge"], "code": backup_codes[0]}
    )
    assert with_backup.status_code == 200, with_backup.text
    challenge = (await gateway.post("/api/v1/auth/login", json=credentials)).json()["data"]
    spent = await gateway.post(
        "/api/v1/auth/mfa/verify", json={"challenge": challenge["challenge"], "code": backup_codes[0]}
    )
    assert spent.status_code == 401, "a backup code works once"


async def test_password_reset_with_the_token_from_the_event(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    tap = await BusTap.open(fleet, "user.events", "auth.password_reset_requested")
    try:
        person = await sign_up(gateway, wait_profile=False)
        forgot = await gateway.post("/api/v1/auth/password/forgot", json={"email": person.email})
        assert forgot.status_code == 202
        event = await tap.wait("auth.password_reset_requested", email=person.email)
    finally:
        await tap.close()
    new_password = "a brand new passphrase for e2e"
    reset = await gateway.post(
        "/api/v1/auth/password/reset", json={"token": event["data"]["token"], "new_password": new_password}
    )
    assert reset.status_code == 200, reset.text
    old = await gateway.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert old.status_code == 401
    new = await gateway.post("/api/v1/auth/login", json={"email": person.email, "password": new_password})
    assert new.status_code == 200
    replay = await gateway.post(
        "/api/v1/auth/password/reset", json={"token": event["data"]["token"], "new_password": "yet another passphrase"}
    )
    assert replay.status_code in (400, 401, 404, 422) and replay.json()["success"] is False


async def test_account_deletion_purges_auth_and_user_data(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
    person = await sign_up(gateway)
    deleted = await gateway.request(
        "DELETE", "/api/v1/auth/account", headers=person.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 200, deleted.text

    async def rows(service: str, sql: str) -> int:
        conn = await asyncpg.connect(fleet.stack.postgres.url(fleet.databases[service], driver="postgresql"))
        try:
            return int(await conn.fetchval(sql, person.user_id))
        finally:
            await conn.close()

    async def purged() -> bool:
        return (
            await rows("user", "SELECT count(*) FROM user_profiles WHERE user_id = $1::uuid") == 0
            and await rows("user", "SELECT count(*) FROM notification_preferences WHERE user_id = $1::uuid") == 0
        )

    await wait_for(purged, timeout=20, message="user service purged on user.deleted")
    assert await rows("auth", "SELECT count(*) FROM users WHERE id = $1::uuid") == 0
    assert await rows("auth", "SELECT count(*) FROM sessions WHERE user_id = $1::uuid") == 0
    login = await gateway.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert login.status_code == 401
    profile = await gateway.get("/api/v1/user/profile", headers=person.headers)
    assert profile.status_code == 401  # the deleted account's unexpired token is refused (pfms_platform.revocation)


async def test_another_users_session_is_a_404_and_stays_alive(gateway: httpx.AsyncClient) -> None:
    alice: Person = await sign_up(gateway, wait_profile=False)
    bob: Person = await sign_up(gateway, wait_profile=False)
    alice_sessions = (await gateway.get("/api/v1/auth/sessions", headers=alice.headers)).json()["data"]
    target = alice_sessions[0]["id"]
    attempt = await gateway.delete(f"/api/v1/auth/sessions/{target}", headers=bob.headers)
    assert attempt.status_code == 404
    assert attempt.json()["error"]["code"] == "NOT_FOUND"
    still = (await gateway.get("/api/v1/auth/sessions", headers=alice.headers)).json()["data"]
    assert [s["id"] for s in still] == [s["id"] for s in alice_sessions]


async def test_identity_provider_and_passkey_sign_in_are_public_the_rest_needs_a_token(
    gateway: httpx.AsyncClient,
) -> None:
    """The gateway lets the sign-in steps of issue 12 through without a token (auth itself answers)
    and keeps linking and passkey management behind the jwt plugin."""
    options = await gateway.post("/api/v1/auth/passkeys/login/options", json={})
    assert options.status_code == 200, options.text
    started = options.json()["data"]
    assert started["ceremony"] and started["options"]["challenge"] and started["expires_in"] > 0
    # A passkey nobody registered is refused by auth in the fleet's envelope (Kong's own 401 is a bare message).
    refused = await gateway.post(
        "/api/v1/auth/passkeys/login/verify", json={"ceremony": started["ceremony"], "credential": {}}
    )
    assert refused.status_code in (400, 401, 422) and refused.json()["error"]["code"]
    unknown = await gateway.get("/api/v1/auth/oauth/no-such-provider/authorize")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NOT_FOUND"
    assert (await gateway.get("/api/v1/auth/passkeys")).status_code == 401
    assert (await gateway.get("/api/v1/auth/oauth/providers")).status_code == 401
    alice: Person = await sign_up(gateway, wait_profile=False)
    mine = await gateway.get("/api/v1/auth/passkeys", headers=alice.headers)
    assert mine.status_code == 200 and mine.json()["data"] == []
    linked = await gateway.get("/api/v1/auth/oauth/providers", headers=alice.headers)
    assert linked.status_code == 200 and linked.json()["data"] == []
