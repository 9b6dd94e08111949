"""Roles: granted and revoked only by the operator command, carried by the next access token."""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from pfms_auth import admin, roles, tokens
from pfms_auth.models import User

from .conftest import Harness

SPEC = tokens.AccessTokenSpec(issuer="pfms-auth", audience="pfms", ttl_seconds=900)


def test_granting_and_revoking_are_idempotent_and_sorted() -> None:
    assert roles.granted([], "admin") == ["admin"]
    assert roles.granted(["admin"], "admin") == ["admin"]
    assert roles.revoked(["admin"], "admin") == []
    assert roles.revoked([], "admin") == []


def test_an_unknown_role_is_refused_rather_than_granted_to_no_effect() -> None:
    with pytest.raises(roles.UnknownRole):
        roles.granted([], "superuser")
    with pytest.raises(SystemExit) as usage:
        admin.main(["grant", "--email", "a@example.com", "--role", "superuser"])
    assert usage.value.code == 2


def test_access_tokens_carry_the_roles_they_are_issued_with() -> None:
    now = datetime.now(UTC)
    claims = tokens.access_claims(SPEC, uuid.uuid4(), uuid.uuid4(), now, roles=["admin"])
    assert claims["roles"] == ["admin"]
    assert tokens.access_claims(SPEC, uuid.uuid4(), uuid.uuid4(), now)["roles"] == []


def _roles(access_token: str) -> list[str]:
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return list(claims["roles"])


async def _operator(
    auth: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    """`pfms-auth-admin …` as an operator runs it: the service's settings from the environment."""
    monkeypatch.setenv("PFMS_AUTH_DATABASE_URL", auth.svc.settings.database_url)
    await asyncio.to_thread(admin.main, list(args))
    return capsys.readouterr().out


async def _refresh(auth: Harness, refresh_token: str) -> dict[str, Any]:
    answer = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


@pytest.mark.integration
async def test_a_granted_role_reaches_the_next_token_and_a_revoked_one_leaves_it(
    auth: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    person = await auth.signed_in()
    bystander = await auth.signed_in()
    assert _roles(person.access_token) == []

    granted = await _operator(auth, monkeypatch, capsys, "grant", "--email", person.email.upper(), "--role", "admin")
    assert granted.strip() == f"{person.email}: now admin"
    again = await _operator(auth, monkeypatch, capsys, "grant", "--email", person.email, "--role", "admin")
    assert again.strip() == f"{person.email}: already admin"
    assert await auth.scalar(select(User.roles).where(User.email == person.email)) == ["admin"]
    listed = await _operator(auth, monkeypatch, capsys, "list", "--role", "admin")
    assert listed.split() == [person.email]

    refreshed = await _refresh(auth, person.refresh_token)
    assert _roles(refreshed["access_token"]) == ["admin"]
    await auth.login(person)
    assert _roles(person.access_token) == ["admin"]
    await auth.login(bystander)
    assert _roles(bystander.access_token) == []

    revoked = await _operator(auth, monkeypatch, capsys, "revoke", "--email", person.email, "--role", "admin")
    assert revoked.strip() == f"{person.email}: now no roles"
    assert _roles((await _refresh(auth, person.refresh_token))["access_token"]) == []


@pytest.mark.integration
async def test_the_operator_command_refuses_an_unknown_account(
    auth: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as failed:
        await _operator(auth, monkeypatch, capsys, "grant", "--email", "nobody@example.com", "--role", "admin")
    assert failed.value.code == 1
    assert "no account" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        await _operator(auth, monkeypatch, capsys, "grant", "--email", "not an email", "--role", "admin")


@pytest.mark.integration
async def test_no_public_route_takes_roles(auth: Harness) -> None:
    """Roles are not in any request body of the API, and sneaking them in is an unknown field (422)."""
    schemas = auth.svc.app.openapi()["components"]["schemas"]
    assert not [name for name, schema in schemas.items() if "roles" in json.dumps(schema.get("properties", {}))]
    email = f"p{uuid.uuid4().hex[:10]}@example.com"
    answer = await auth.client.post(
        "/api/v1/auth/register", json={"email": email, "password": "correct horse battery staple", "roles": ["admin"]}
    )
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "roles"
