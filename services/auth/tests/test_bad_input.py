"""Hostile and malformed input: answered in the error envelope, naming the field, changing nothing."""

import pytest
from sqlalchemy import select

from pfms_auth.models import User

from .conftest import PASSWORD, Harness, Person

pytestmark = pytest.mark.integration

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


async def _snapshot(auth: Harness) -> tuple[int, int]:
    return await auth.count(User), len(await auth.events())


def _assert_error(response, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code and body["meta"]["request_id"]
    if field is not None:
        assert field in {d["field"] for d in body["error"]["details"]}, body


async def test_malformed_json_is_a_400(auth: Harness) -> None:
    before = await _snapshot(auth)
    for path in (REGISTER, LOGIN, "/api/v1/auth/refresh", "/api/v1/auth/password/forgot", "/api/v1/auth/verify-email"):
        response = await auth.client.post(
            path, content=b'{"email": "a@example.com",', headers={"Content-Type": "application/json"}
        )
        _assert_error(response, 400, "MALFORMED_JSON")
    assert await _snapshot(auth) == before


WRONG = [
    ({"email": 123, "password": PASSWORD}, "email"),
    ({"email": "not-an-email", "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": ["list"]}, "password"),
    ({"email": "a@example.com"}, "password"),
    ({"email": "a@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
    ({"email": "a@example.com", "password": "x" * 2000}, "password"),
]


async def test_wrong_types_and_unknown_fields_are_422_naming_the_field(auth: Harness) -> None:
    before = await _snapshot(auth)
    for body, field in WRONG:
        for path in (REGISTER, LOGIN):
            response = await auth.client.post(path, json=body)
            _assert_error(response, 422, "VALIDATION_ERROR", field)
    assert await _snapshot(auth) == before


async def test_authenticated_routes_refuse_unknown_fields_too(auth: Harness) -> None:
    person = await auth.signed_in()
    response = await auth.client.post(
        "/api/v1/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "a fine new passphrase", "force": True},
        headers=person.headers,
    )
    _assert_error(response, 422, "VALIDATION_ERROR", "force")
    await auth.login(person)  # the password did not change


async def test_sql_and_html_in_strings_are_stored_and_echoed_harmlessly(auth: Harness) -> None:
    email = "o'brien+x@example.com"
    password = "'; DROP TABLE users; -- <script>alert(1)</script>"
    person = await auth.login(await auth.register(email, password))
    assert person.email == email
    agent = "<img src=x onerror=alert(1)>'); DELETE FROM sessions; --"
    await auth.login(Person(email, password, person.user_id), **{"User-Agent": agent})
    response = await auth.client.get("/api/v1/auth/sessions", headers=person.headers)
    assert response.headers["content-type"] == "application/json"
    assert agent in {s["user_agent"] for s in response.json()["data"]}
    assert await auth.scalar(select(User.email).where(User.id == person.user_id)) == email
    refused = await auth.client.post("/api/v1/auth/refresh", json={"refresh_token": "' OR '1'='1"})
    _assert_error(refused, 401, "UNAUTHORIZED")
    unknown = await auth.client.post(LOGIN, json={"email": "x@example.com' OR '1'='1", "password": PASSWORD})
    _assert_error(unknown, 422, "VALIDATION_ERROR", "email")
    assert await auth.count(User) == 1
