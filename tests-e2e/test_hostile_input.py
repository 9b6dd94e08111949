"""Hostile and broken input through the gateway: a clear 4xx, nothing changed. (Token attacks, at the gateway
and at every service: test_token_attacks.py.)"""

import json

import asyncpg
import httpx
import pytest
from journeys import profile_of, sign_up, verify_email

from pfms_local.fleet import Fleet

pytestmark = pytest.mark.e2e


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


async def test_another_users_family_invitation_is_a_404(gateway: httpx.AsyncClient, fleet: Fleet) -> None:
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
    # Bob's address is not verified yet: the invitation is not his to see or answer (403, nothing changed).
    accept = f"/api/v1/user/family/invitations/{invitation_id}/accept"
    unverified = await gateway.post(accept, headers=bob.headers)
    assert unverified.status_code == 403 and unverified.json()["error"]["code"] == "EMAIL_NOT_VERIFIED"
    assert (await gateway.get("/api/v1/user/family", headers=bob.headers)).json()["data"]["invitations_received"] == []
    await verify_email(gateway, fleet, bob)
    family = (await gateway.get("/api/v1/user/family", headers=bob.headers)).json()["data"]
    assert invitation_id in json.dumps(family)
    accepted = await gateway.post(accept, headers=bob.headers)
    assert accepted.status_code == 200, accepted.text
