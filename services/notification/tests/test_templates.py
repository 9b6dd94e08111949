"""Admins (the `admin` role in the access token) list and edit templates; everyone else gets 403."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from pfms_contracts.notification import NotificationRequested
from pfms_notification.models import Template
from pfms_notification.templates import KEYS, checked
from pfms_platform.errors import Invalid

URL = "/api/v1/notifications/templates"
REQUESTED = f"{URL}/system/in_app/notification.requested"


@pytest.mark.parametrize(
    "source",
    [
        "{{ title }}: {{ message|upper }}",
        "{{ budget_name }} at {{ spent }} {{ currency }}",  # an event's own fields: blank when missing
        "{% if late_fee != '0' %}fee {{ late_fee }}{% endif %}{{ missing.deeper }}",
        "{{ app_url }}{{ action_url or '' }} {{ data.anything }}",
    ],
)
def test_templates_the_renderer_can_render_are_accepted(source: str) -> None:
    assert checked(source, "body") == source


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("{% if %}", "syntax"),
        ("{{ title }", "unexpected"),
        ("{{ amount + 1 }}", "'amount' is undefined"),
        ("{{ shout() }}", "undefined"),
        ("{{ title + 1 }}", "str"),
        ("{{ 1 // 0 }}", "division"),
    ],
)
def test_templates_the_renderer_would_crash_on_are_refused_naming_the_field(source: str, why: str) -> None:
    with pytest.raises(Invalid) as refused:
        checked(source, "subject")
    assert refused.value.details == [{"field": "subject", "message": refused.value.message}]
    assert why in refused.value.message


def test_every_event_that_makes_a_notification_has_a_template_key() -> None:
    assert {"default", "notification.requested", "budget.threshold_reached", "report.failed"} <= KEYS


async def _stored(env: Any, category: str, channel: str, key: str) -> tuple[str, str] | None:
    async with env.svc.db.sessions() as session:
        row = await session.scalar(
            select(Template).where(Template.category == category, Template.channel == channel, Template.key == key)
        )
    return None if row is None else (row.subject, row.body)


@pytest.mark.integration
async def test_an_admin_lists_filters_and_edits_and_the_next_notification_uses_the_edit(env: Any) -> None:
    client, admin = env.svc.client, env.keys.auth(uuid.uuid4(), roles=["admin"])
    listed = await client.get(URL, params={"limit": 100}, headers=admin)
    assert listed.status_code == 200, listed.text
    assert listed.json()["pagination"]["total"] == len(listed.json()["data"]) >= 20
    mails = await client.get(URL, params={"category": "security", "channel": "email"}, headers=admin)
    assert {(t["category"], t["channel"]) for t in mails.json()["data"]} == {("security", "email")}
    assert {t["key"] for t in mails.json()["data"]} == {
        "auth.email_verification_requested",
        "auth.password_reset_requested",
    }
    one = await client.get(URL, params={"key": "report.failed", "limit": 1}, headers=admin)
    assert one.json()["pagination"] == {"page": 1, "limit": 1, "total": 2, "pages": 2, "has_next": True}
    bad_filter = await client.get(URL, params={"channel": "pigeon"}, headers=admin)
    assert bad_filter.status_code == 422 and bad_filter.json()["error"]["details"][0]["field"] == "channel"

    put = await client.put(REQUESTED, json={"subject": "[{{ title }}]", "body": "{{ message|upper }}"}, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["data"] | {"id": None, "updated_at": None} == {
        "id": None,
        "updated_at": None,
        "category": "system",
        "channel": "in_app",
        "key": "notification.requested",
        "subject": "[{{ title }}]",
        "body": "{{ message|upper }}",
    }
    again = await client.put(REQUESTED, json={"subject": "<{{ title }}>", "body": "{{ message|upper }}"}, headers=admin)
    assert again.json()["data"]["id"] == put.json()["data"]["id"]  # replaced, not duplicated
    user = await env.person()
    await env.publish(NotificationRequested(user_id=user, category="system", title="Hello", message="quiet"))

    async def rendered() -> bool:
        rows = await env.notifications(user)
        return bool(rows) and (rows[0].title, rows[0].message) == ("<Hello>", "QUIET")

    await env.until(rendered)


@pytest.mark.integration
async def test_bad_edits_are_refused_and_change_nothing(env: Any) -> None:
    client, admin = env.svc.client, env.keys.auth(uuid.uuid4(), roles=["admin"])
    before = await _stored(env, "system", "in_app", "notification.requested")
    good = {"subject": "{{ title }}", "body": "{{ message }}"}
    cases: list[tuple[str, dict[str, Any], int, str | None]] = [
        (REQUESTED, {"subject": "{% if %}", "body": "x"}, 422, "subject"),
        (REQUESTED, {"subject": "ok", "body": "{{ amount * 2 }}"}, 422, "body"),
        (REQUESTED, {**good, "locale": "fr"}, 422, "locale"),
        (REQUESTED, {"subject": 5, "body": "x"}, 422, "subject"),
        (REQUESTED, {"subject": "", "body": "x"}, 422, "subject"),
        (REQUESTED, {"body": "x"}, 422, "subject"),
        (f"{URL}/hobbies/in_app/notification.requested", good, 422, "category"),
        (f"{URL}/system/pigeon/notification.requested", good, 422, "channel"),
        (f"{URL}/system/in_app/no.such.event", good, 404, None),
    ]
    for url, body, status, field in cases:
        answer = await client.put(url, json=body, headers=admin)
        assert answer.status_code == status, (body, answer.text)
        if field is not None:
            assert answer.json()["error"]["details"][0]["field"] == field, answer.text
    malformed = await client.put(
        REQUESTED, content=b'{"subject": ', headers=admin | {"content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "MALFORMED_JSON"
    assert await _stored(env, "system", "in_app", "notification.requested") == before
    assert await _stored(env, "system", "in_app", "no.such.event") is None


@pytest.mark.integration
async def test_only_admins_get_in_and_the_internal_template_routes_are_gone(env: Any) -> None:
    client = env.svc.client
    before = await _stored(env, "system", "email", "default")
    body = {"subject": "pwned", "body": "pwned"}
    url = f"{URL}/system/email/default"
    for headers in (env.keys.auth(uuid.uuid4()), env.keys.auth(uuid.uuid4(), roles=["support", "Admin"])):
        listed = await client.get(URL, headers=headers)
        assert listed.status_code == 403 and listed.json()["error"]["code"] == "FORBIDDEN"
        for target in (url, f"{URL}/hobbies/email/default", f"{URL}/system/email/no.such.event"):
            refused = await client.put(target, json=body, headers=headers)
            assert refused.status_code == 403, refused.text
    assert (await client.get(URL)).status_code == 401
    assert (await client.put(url, json=body)).status_code == 401
    service = env.service_headers()
    assert (await client.get("/internal/v1/notifications/templates", headers=service)).status_code == 404
    gone = await client.put("/internal/v1/notifications/templates/system/email/default", json=body, headers=service)
    assert gone.status_code in (404, 405)
    assert await _stored(env, "system", "email", "default") == before
