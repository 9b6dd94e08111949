"""Contacts (app users found by email through the user service, external people) and contact groups."""

import uuid
from datetime import UTC, datetime

import pytest

from pfms_contracts.identity import UserCreated
from pfms_loan.models import Contact, ContactGroupMember
from pfms_platform.testing.helpers import publish_event, served, until

pytestmark = pytest.mark.integration


async def test_app_user_contact_resolved_by_email(make_service, make_env, jwt_keys) -> None:
    users = await make_service("user")
    friend = uuid.uuid4()
    await publish_event(
        users.settings.amqp_url,
        UserCreated(user_id=friend, email="Friend@Example.com", email_verified=True, created_at=datetime.now(UTC)),
        source="auth",
    )

    async def known() -> bool:
        return (await users.client.get("/api/v1/user/profile", headers=jwt_keys.auth(friend))).status_code == 200

    await until(known, timeout=20)
    async with served(users.app) as url:
        env = await make_env(service_urls={"user": url})
        made = await env.post("/api/v1/contacts", {"contact_type": "app_user", "email": "friend@example.com"})
        assert made.status_code == 201, made.text
        assert made.json()["data"]["linked_user_id"] == str(friend)
        nobody = await env.post("/api/v1/contacts", {"contact_type": "app_user", "email": "nobody@example.com"})
        assert nobody.status_code == 422 and nobody.json()["error"]["details"][0]["field"] == "email"
        twice = await env.post("/api/v1/contacts", {"contact_type": "app_user", "linked_user_id": str(friend)})
        assert twice.status_code == 409
        myself = await env.post("/api/v1/contacts", {"contact_type": "app_user", "linked_user_id": str(env.alice)})
        assert myself.status_code == 422
        assert await env.count(Contact) == 1


async def test_external_contacts_crud_filters_and_ownership(env) -> None:
    made = await env.post(
        "/api/v1/contacts",
        {"contact_type": "external", "name": "Rahim", "phone": "+880 1711 000000", "relationship": "friend"},
    )
    assert made.status_code == 201, made.text
    contact = made.json()["data"]
    assert contact["display_name"] == "Rahim"
    for body, field in [
        ({"contact_type": "external"}, "body"),
        ({"contact_type": "external", "name": "X", "phone": "call me"}, "phone"),
        ({"contact_type": "external", "name": "X", "email": "nope"}, "email"),
        ({"contact_type": "robot", "name": "X"}, "contact_type"),
        ({"contact_type": "external", "name": "X", "age": 3}, "age"),
    ]:
        response = await env.post("/api/v1/contacts", body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    same_phone = await env.post(
        "/api/v1/contacts", {"contact_type": "external", "name": "R2", "phone": "+880 1711 000000"}
    )
    assert same_phone.status_code == 409
    path = f"/api/v1/contacts/{contact['id']}"
    patched = await env.client.patch(path, json={"nickname": "Rahim bhai", "is_favorite": True}, headers=env.auth())
    assert patched.json()["data"]["display_name"] == "Rahim bhai"
    cleared = await env.client.patch(path, json={"name": None}, headers=env.auth())
    assert cleared.status_code == 422
    assert (await env.get("/api/v1/contacts", favorite="true", q="bhai")).json()["pagination"]["total"] == 1
    assert (await env.get("/api/v1/contacts", q="nobody")).json()["pagination"]["total"] == 0
    for call in (
        env.client.get(path, headers=env.auth(env.bob)),
        env.client.patch(path, json={"notes": "x"}, headers=env.auth(env.bob)),
        env.client.delete(path, headers=env.auth(env.bob)),
    ):
        assert (await call).status_code == 404
    await env.loan(contact_id=contact["id"])
    assert (await env.client.delete(path, headers=env.auth())).status_code == 409
    blocked = await env.client.patch(path, json={"is_blocked": True}, headers=env.auth())
    assert blocked.json()["data"]["is_blocked"] is True
    refused = await env.post(
        "/api/v1/loans",
        {
            "type": "lent",
            "principal_amount": "5",
            "currency": "USD",
            "start_date": "2026-01-01",
            "contact_id": contact["id"],
        },
    )
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["field"] == "contact_id"
    mine = await env.loan(env.bob)
    assert (await env.get("/api/v1/loans", env.bob, contact_id=contact["id"])).json()["pagination"]["total"] == 0
    assert mine["contact_id"] is None


async def test_contact_groups(env) -> None:
    a = (await env.post("/api/v1/contacts", {"contact_type": "external", "name": "A"})).json()["data"]
    group = await env.post("/api/v1/contacts/groups", {"name": "Family", "color": "#aa00ff"})
    assert group.status_code == 201, group.text
    gid = group.json()["data"]["id"]
    assert (await env.post("/api/v1/contacts/groups", {"name": "Family"})).status_code == 409
    assert (await env.post("/api/v1/contacts/groups", {"name": "Bad", "color": "red"})).status_code == 422
    added = await env.client.put(f"/api/v1/contacts/groups/{gid}/members/{a['id']}", headers=env.auth())
    assert added.json()["data"]["contact_ids"] == [a["id"]]
    again = await env.client.put(f"/api/v1/contacts/groups/{gid}/members/{a['id']}", headers=env.auth())
    assert again.json()["data"]["contact_ids"] == [a["id"]]
    foreign = (await env.post("/api/v1/contacts", {"contact_type": "external", "name": "B"}, env.bob)).json()["data"]
    not_mine = await env.client.put(f"/api/v1/contacts/groups/{gid}/members/{foreign['id']}", headers=env.auth())
    assert not_mine.status_code == 404
    assert (await env.get(f"/api/v1/contacts/groups/{gid}", env.bob)).status_code == 404
    removed = await env.client.delete(f"/api/v1/contacts/groups/{gid}/members/{a['id']}", headers=env.auth())
    assert removed.json()["data"]["contact_ids"] == []
    assert (await env.get("/api/v1/contacts/groups")).json()["pagination"]["total"] == 1
    assert (await env.client.delete(f"/api/v1/contacts/groups/{gid}", headers=env.auth())).status_code == 204
    assert await env.count(ContactGroupMember) == 0
