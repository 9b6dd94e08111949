"""Issue 8's admin role through the gateway: an operator grants it with `pfms-auth-admin`, the person's next
token carries it, they edit a mail template, and the next mail is rendered from the edit; without the role
(or with a token claiming it that auth did not sign) the template routes are refused."""

import asyncio
import json
import time
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from journeys import Person, sign_up

from pfms_local.fleet import Fleet, executable, wait_for
from pfms_platform.catalogue import service

pytestmark = pytest.mark.e2e

TEMPLATES = "/api/v1/notifications/templates"
RESET_MAIL = f"{TEMPLATES}/security/email/auth.password_reset_requested"


async def operator(fleet: Fleet, *args: str) -> str:
    """`pfms-auth-admin …` with the auth service's own settings (its database), as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        executable("pfms-auth-admin"),
        *args,
        env=fleet.service_env(service("auth")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


def roles(token: str) -> list[str]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return list(claims["roles"])


async def log_in(gateway: httpx.AsyncClient, person: Person) -> Person:
    login = await gateway.post("/api/v1/auth/login", json={"email": person.email, "password": person.password})
    assert login.status_code == 200, login.text
    data = login.json()["data"]
    person.access_token, person.refresh_token = data["access_token"], data["refresh_token"]
    return person


async def test_an_operator_made_admin_edits_a_mail_and_the_next_mail_uses_it(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    admin = await sign_up(gateway, wait_profile=False)
    assert roles(admin.access_token) == []
    assert (await gateway.get(TEMPLATES, headers=admin.headers)).status_code == 403

    assert "now admin" in await operator(fleet, "grant", "--email", admin.email, "--role", "admin")
    assert admin.email in await operator(fleet, "list", "--role", "admin")
    assert (await gateway.get(TEMPLATES, headers=admin.headers)).status_code == 403, "the old token has no role"
    await log_in(gateway, admin)
    assert roles(admin.access_token) == ["admin"]

    found = await gateway.get(
        TEMPLATES, params={"category": "security", "channel": "email", "key": "auth.password_reset_requested"}
    )
    assert found.status_code == 401, "the gateway wants a token"
    found = await gateway.get(
        TEMPLATES,
        params={"category": "security", "channel": "email", "key": "auth.password_reset_requested"},
        headers=admin.headers,
    )
    assert found.status_code == 200, found.text
    [original] = found.json()["data"]
    marker = uuid.uuid4().hex[:8]
    edited = {"subject": f"Reset your PFMS password [{marker}]", "body": original["body"] + "\nEdited by an admin."}
    try:
        bad = await gateway.put(RESET_MAIL, json={"subject": "{% if %}", "body": "x"}, headers=admin.headers)
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "subject"
        put = await gateway.put(RESET_MAIL, json=edited, headers=admin.headers)
        assert put.status_code == 200, put.text

        person = await sign_up(gateway, wait_profile=False)
        forgot = await gateway.post("/api/v1/auth/password/forgot", json={"email": person.email})
        assert forgot.status_code == 202, forgot.text

        def mailed() -> EmailMessage | None:
            mine = [m for m in fleet.stack.smtp.messages() if m["To"] == person.email and marker in m["Subject"]]
            return mine[0] if mine else None

        mail = await wait_for(mailed, timeout=30, message="the reset mail rendered from the edited template")
        body = mail.get_content()
        assert "Edited by an admin." in body and "/reset-password?token=" in body
    finally:
        restored = await gateway.put(
            RESET_MAIL, json={"subject": original["subject"], "body": original["body"]}, headers=admin.headers
        )
        assert restored.status_code == 200, restored.text

    assert "now no roles" in await operator(fleet, "revoke", "--email", admin.email, "--role", "admin")
    refreshed = await gateway.post("/api/v1/auth/refresh", json={"refresh_token": admin.refresh_token})
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["data"]["access_token"]
    assert roles(token) == []
    refused = await gateway.get(TEMPLATES, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"


async def test_a_person_without_the_role_and_a_forged_admin_token_are_refused(
    gateway: httpx.AsyncClient, fleet: Fleet
) -> None:
    person = await sign_up(gateway, wait_profile=False)
    body = {"subject": "pwned", "body": "pwned"}
    listed = await gateway.get(TEMPLATES, headers=person.headers)
    assert listed.status_code == 403 and listed.json()["error"]["code"] == "FORBIDDEN"
    assert (await gateway.put(RESET_MAIL, json=body, headers=person.headers)).status_code == 403

    header = jwt.get_unverified_header(person.access_token)
    claims = jwt.decode(person.access_token, options={"verify_signature": False}) | {"roles": ["admin"]}
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims | {"iat": int(time.time())}, stranger_key, algorithm="RS256", headers=header)
    head, _, signature = person.access_token.split(".")
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    spliced = f"{head}.{payload}.{signature}"  # auth's real signature over other claims
    for token in (forged, spliced):
        for answer in (
            await gateway.get(TEMPLATES, headers={"Authorization": f"Bearer {token}"}),
            await gateway.put(RESET_MAIL, json=body, headers={"Authorization": f"Bearer {token}"}),
        ):
            assert answer.status_code == 401, answer.text
