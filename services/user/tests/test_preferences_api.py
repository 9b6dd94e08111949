"""Profile and preference routes against a real database: happy paths, validation, events, isolation."""

import uuid

import pytest
from sqlalchemy import text

from pfms_user.domain import Category, Channel

pytestmark = pytest.mark.integration

PROFILE = "/api/v1/user/profile"
FINANCIAL = "/api/v1/user/preferences/financial"
PRIVACY = "/api/v1/user/preferences/privacy"
NOTIFICATIONS = "/api/v1/user/preferences/notifications"


def data(response) -> dict:
    assert response.is_success, response.text
    body = response.json()
    assert body["success"] is True and body["meta"]["request_id"]
    return body["data"]


def error_fields(response, status: int = 422) -> set[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    return {d["field"] for d in body["error"]["details"]}


async def updates(env, section: str) -> list[dict]:
    return [e["data"] for e in await env.outbox("user.updated") if e["data"]["section"] == section]


async def test_every_route_needs_the_access_token(env) -> None:
    for method, path in [("GET", PROFILE), ("PUT", PROFILE), ("GET", NOTIFICATIONS), ("GET", "/api/v1/user/family")]:
        response = await env.svc.client.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_profile_not_created_yet_is_404_in_the_envelope(env) -> None:
    headers = env.keys.auth(uuid.uuid4())
    for path in (PROFILE, FINANCIAL, PRIVACY, NOTIFICATIONS):
        response = await env.svc.client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert (await env.svc.client.put(PROFILE, json={"first_name": "A"}, headers=headers)).status_code == 404


async def test_profile_update_is_partial_and_announced(env) -> None:
    me = await env.signup()
    client = env.svc.client
    body = {
        "first_name": "  Ada ",
        "last_name": "Lovelace",
        "phone": "+447911123456",
        "avatar_url": "https://cdn.example.com/ada.png",
        "date_of_birth": "1990-12-10",
        "currency": "gbp",
        "timezone": "Europe/London",
        "language": "en-gb",
    }
    profile = data(await client.put(PROFILE, json=body, headers=me.headers))
    assert profile["first_name"] == "Ada"
    assert (profile["currency"], profile["language"]) == ("GBP", "en-GB")
    assert profile["email"] == me.email
    assert data(await client.get(PROFILE, headers=me.headers)) == profile

    # Partial: only the sent field changes; `null` clears an optional one.
    after = data(await client.put(PROFILE, json={"last_name": "King", "phone": None}, headers=me.headers))
    assert (after["first_name"], after["last_name"], after["phone"]) == ("Ada", "King", None)
    assert after["currency"] == "GBP"

    # Sending the same values again changes nothing and announces nothing.
    data(await client.put(PROFILE, json={"last_name": "King"}, headers=me.headers))
    events = await updates(env, "profile")
    assert len(events) == 2
    assert events[0]["user_id"] == str(me.user_id)
    assert events[0]["changes"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+447911123456",
        "avatar_url": "https://cdn.example.com/ada.png",
        "date_of_birth": "1990-12-10",
        "currency": "GBP",
        "timezone": "Europe/London",
        "language": "en-GB",
    }
    assert events[1]["changes"] == {"last_name": "King", "phone": None}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "   "),
        ("last_name", "x" * 101),
        ("phone", "+1 415 555 2671"),
        ("phone", "+11234567890"),
        ("avatar_url", "http://cdn.example.com/a.png"),
        ("date_of_birth", "2999-01-01"),
        ("date_of_birth", "1800-01-01"),
        ("date_of_birth", "not-a-date"),
        ("currency", "ABC"),
        ("currency", None),
        ("timezone", "Mars/Olympus"),
        ("language", "english"),
        ("nickname", "Ada"),
    ],
)
async def test_bad_profile_input_is_422_naming_the_field_and_changes_nothing(env, field, value) -> None:
    me = await env.signup()
    before = data(await env.svc.client.get(PROFILE, headers=me.headers))
    response = await env.svc.client.put(PROFILE, json={"first_name": "Ok", field: value}, headers=me.headers)
    assert error_fields(response) == {field}
    assert data(await env.svc.client.get(PROFILE, headers=me.headers)) == before
    assert await updates(env, "profile") == []


async def test_malformed_json_is_400(env) -> None:
    me = await env.signup()
    for path in (PROFILE, FINANCIAL, PRIVACY, NOTIFICATIONS):
        response = await env.svc.client.put(
            path, content=b'{"first_name": "Ada",', headers={**me.headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "MALFORMED_JSON"


async def test_financial_preferences_round_trip_money_as_decimal_strings(env) -> None:
    me = await env.signup()
    client = env.svc.client
    defaults = data(await client.get(FINANCIAL, headers=me.headers))
    assert defaults["investment_risk_level"] == "medium"
    assert defaults["earning_schedule"] == "monthly"
    assert defaults["daily_budget_limit"] is None

    body = {
        "daily_budget_limit": "50.5",
        "monthly_budget_limit": 1500,
        "savings_target": "250000.00",
        "investment_risk_level": "high",
        "salary_day": 28,
        "earning_schedule": "biweekly",
    }
    prefs = data(await client.put(FINANCIAL, json=body, headers=me.headers))
    assert prefs["daily_budget_limit"] == "50.50"
    assert prefs["monthly_budget_limit"] == "1500.00"
    assert prefs["savings_target"] == "250000.00"
    assert (prefs["investment_risk_level"], prefs["salary_day"], prefs["earning_schedule"]) == ("high", 28, "biweekly")
    assert data(await client.get(FINANCIAL, headers=me.headers)) == prefs

    (event,) = await updates(env, "financial")
    assert event["changes"] == {
        "daily_budget_limit": "50.5",
        "monthly_budget_limit": "1500",
        "savings_target": "250000.00",
        "investment_risk_level": "high",
        "salary_day": 28,
        "earning_schedule": "biweekly",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("daily_budget_limit", "-1"),
        ("monthly_budget_limit", "10.001"),
        ("savings_target", "1e16"),
        ("savings_target", "lots"),
        ("salary_day", 0),
        ("salary_day", 32),
        ("investment_risk_level", "extreme"),
        ("earning_schedule", "daily"),
        ("earning_schedule", None),
    ],
)
async def test_bad_financial_input_is_422_naming_the_field_and_changes_nothing(env, field, value) -> None:
    me = await env.signup()
    before = data(await env.svc.client.get(FINANCIAL, headers=me.headers))
    response = await env.svc.client.put(FINANCIAL, json={"salary_day": 5, field: value}, headers=me.headers)
    assert error_fields(response) == {field}
    assert data(await env.svc.client.get(FINANCIAL, headers=me.headers)) == before


async def test_privacy_settings_round_trip(env) -> None:
    me = await env.signup()
    client = env.svc.client
    assert data(await client.get(PRIVACY, headers=me.headers))["profile_visibility"] == "private"
    prefs = data(
        await client.put(PRIVACY, json={"profile_visibility": "family", "data_sharing": True}, headers=me.headers)
    )
    assert (prefs["profile_visibility"], prefs["data_sharing"], prefs["allow_analytics"]) == ("family", True, True)
    (event,) = await updates(env, "privacy")
    assert event["changes"] == {"data_sharing": True, "profile_visibility": "family"}
    assert error_fields(await client.put(PRIVACY, json={"show_net_worth": "yes"}, headers=me.headers)) == {
        "show_net_worth"
    }
    assert error_fields(await client.put(PRIVACY, json={"profile_visibility": "all"}, headers=me.headers)) == {
        "profile_visibility"
    }
    assert data(await client.get(PRIVACY, headers=me.headers)) == prefs


async def test_notification_preferences_list_and_flip(env) -> None:
    me = await env.signup()
    client = env.svc.client
    listed = data(await client.get(NOTIFICATIONS, headers=me.headers))
    assert len(listed) == len(Channel) * len(Category)
    switch = {(p["channel"], p["category"]): p["enabled"] for p in listed}
    assert switch[("sms", "security")] is True and switch[("sms", "expense")] is False

    body = [
        {"channel": "sms", "category": "expense", "enabled": True},
        {"channel": "push", "category": "group", "enabled": False},
        {"channel": "in_app", "category": "tax", "enabled": True},  # already on: not a change
    ]
    after = {
        (p["channel"], p["category"]): p["enabled"]
        for p in data(await client.put(NOTIFICATIONS, json=body, headers=me.headers))
    }
    assert after == {**switch, ("sms", "expense"): True, ("push", "group"): False}
    assert {
        (p["channel"], p["category"]): p["enabled"] for p in data(await client.get(NOTIFICATIONS, headers=me.headers))
    } == after

    (event,) = await updates(env, "notifications")
    assert sorted(event["changes"]["preferences"], key=lambda p: p["channel"]) == [
        {"channel": "push", "category": "group", "enabled": False},
        {"channel": "sms", "category": "expense", "enabled": True},
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"channel": "pigeon", "category": "tax", "enabled": True}], "0.channel"),
        ([{"channel": "sms", "category": "gossip", "enabled": True}], "0.category"),
        ([{"channel": "sms", "category": "tax", "enabled": "sure"}], "0.enabled"),
        ([{"channel": "sms", "category": "tax", "enabled": True, "loud": True}], "0.loud"),
        (
            [
                {"channel": "sms", "category": "tax", "enabled": True},
                {"channel": "sms", "category": "tax", "enabled": False},
            ],
            "body",
        ),
        ([], "body"),
    ],
)
async def test_bad_notification_input_is_422_and_changes_nothing(env, body, field) -> None:
    me = await env.signup()
    before = data(await env.svc.client.get(NOTIFICATIONS, headers=me.headers))
    assert error_fields(await env.svc.client.put(NOTIFICATIONS, json=body, headers=me.headers)) == {field}
    assert data(await env.svc.client.get(NOTIFICATIONS, headers=me.headers)) == before


async def test_each_user_only_ever_sees_and_changes_their_own_rows(env) -> None:
    alice, bob = await env.signup(), await env.signup()
    client = env.svc.client
    data(await client.put(PROFILE, json={"first_name": "Alice"}, headers=alice.headers))
    data(await client.put(FINANCIAL, json={"salary_day": 1}, headers=alice.headers))
    data(
        await client.put(
            NOTIFICATIONS, json=[{"channel": "sms", "category": "tax", "enabled": True}], headers=alice.headers
        )
    )

    bobs = data(await client.get(PROFILE, headers=bob.headers))
    assert (bobs["user_id"], bobs["email"], bobs["first_name"]) == (str(bob.user_id), bob.email, None)
    assert data(await client.get(FINANCIAL, headers=bob.headers))["salary_day"] is None
    assert error_fields(
        await client.put(PROFILE, json={"first_name": "Bob", "user_id": str(alice.user_id)}, headers=bob.headers)
    ) == {"user_id"}
    data(await client.put(PROFILE, json={"first_name": "Bob"}, headers=bob.headers))

    alices = data(await client.get(PROFILE, headers=alice.headers))
    assert (alices["user_id"], alices["first_name"]) == (str(alice.user_id), "Alice")
    bob_sms_tax = [
        p
        for p in data(await client.get(NOTIFICATIONS, headers=bob.headers))
        if (p["channel"], p["category"]) == ("sms", "tax")
    ]
    assert bob_sms_tax == [{"channel": "sms", "category": "tax", "enabled": False}]


async def test_profile_read_survives_lost_database_connections(env) -> None:
    me = await env.signup()
    assert (await env.svc.client.get(PROFILE, headers=me.headers)).status_code == 200
    async with env.svc.db.engine.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    response = await env.svc.client.get(PROFILE, headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["user_id"] == str(me.user_id)
