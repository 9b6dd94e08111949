"""`/internal/v1/users/lookup`: other services resolve an email to an account with a service token."""

import uuid

import pytest

from pfms_platform.security import mint_service_token

pytestmark = pytest.mark.integration

LOOKUP = "/internal/v1/users/lookup"


def service(env, name: str = "loan") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_service_token(env.svc.settings.service_token_secret, name)}"}


async def test_an_email_resolves_to_its_account_whatever_its_case(env) -> None:
    person = await env.signup(f"Ada-{uuid.uuid4().hex[:6]}@Example.com")
    response = await env.svc.client.get(LOOKUP, params={"email": f"  {person.email.upper()} "}, headers=service(env))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "user_id": str(person.user_id),
        "email": person.email.lower(),
        "first_name": None,
        "last_name": None,
    }


async def test_unknown_or_malformed_email(env) -> None:
    await env.signup()
    unknown = await env.svc.client.get(LOOKUP, params={"email": "nobody@example.com"}, headers=service(env))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "NOT_FOUND"
    bad = await env.svc.client.get(LOOKUP, params={"email": "not-an-email"}, headers=service(env))
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "email"


async def test_an_address_never_verified_is_nobodys(env) -> None:
    """Whoever signed up with another person's address must not receive their payments or invitations."""
    squatter = await env.signup(f"taken-{uuid.uuid4().hex[:6]}@example.com", verified=False)
    response = await env.svc.client.get(LOOKUP, params={"email": squatter.email}, headers=service(env))
    assert response.status_code == 404
    assert response.json()["error"]["details"][0]["field"] == "email"


async def test_only_services_may_look_people_up(env) -> None:
    person = await env.signup()
    assert (await env.svc.client.get(LOOKUP, params={"email": person.email})).status_code == 401
    as_user = await env.svc.client.get(LOOKUP, params={"email": person.email}, headers=person.headers)
    assert as_user.status_code in (401, 403)
    assert as_user.json()["success"] is False


async def test_the_gdpr_export_holds_the_users_rows_and_nobody_elses(env) -> None:
    me, other = await env.signup(), await env.signup()
    put = await env.svc.client.put(
        "/api/v1/user/preferences/financial", json={"monthly_budget_limit": "1500"}, headers=me.headers
    )
    assert put.status_code == 200, put.text
    await env.svc.client.put(
        "/api/v1/user/preferences/financial", json={"monthly_budget_limit": "9"}, headers=other.headers
    )
    params = {"user_id": str(me.user_id)}
    response = await env.svc.client.get("/internal/v1/export", params=params, headers=service(env))
    assert response.status_code == 200, response.text
    export = response.json()["data"]
    assert export["service"] == "user"
    tables = export["tables"]
    assert [row["email"] for row in tables["user_profiles"]] == [me.email]
    (prefs,) = tables["financial_preferences"]
    assert prefs["monthly_budget_limit"] == "1500.0000"  # money stays a decimal string, as stored
    everything = str(tables)
    assert str(other.user_id) not in everything and other.email not in everything
    assert "outbox" not in tables


async def test_only_services_may_export(env) -> None:
    me = await env.signup()
    params = {"user_id": str(me.user_id)}
    assert (await env.svc.client.get("/internal/v1/export", params=params)).status_code == 401
    as_user = await env.svc.client.get("/internal/v1/export", params=params, headers=me.headers)
    assert as_user.status_code in (401, 403)
    bad = await env.svc.client.get("/internal/v1/export", params={"user_id": "nope"}, headers=service(env))
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "user_id"
