"""Quiet hours and the digest: partial updates, strict validation, `user.updated` for notification, isolation."""

import uuid
from datetime import UTC, datetime, time
from typing import Any

import asyncpg
import pytest

from pfms_contracts.identity import UserDeleted
from pfms_devservers import Stack
from pfms_platform.migrations import upgrade
from pfms_platform.security import mint_service_token
from pfms_platform.testing.fixtures import service_dir
from pfms_user.models import DeliveryPreferences

pytestmark = pytest.mark.integration

DELIVERY = "/api/v1/user/preferences/delivery"


def data(response) -> dict:
    assert response.is_success, response.text
    return response.json()["data"]


async def announced(env) -> list[dict]:
    return [e["data"]["changes"] for e in await env.outbox("user.updated") if e["data"]["section"] == "notifications"]


async def test_quiet_hours_and_digest_update_partially_and_each_change_is_announced(env) -> None:
    me = await env.signup()
    client = env.svc.client
    shown = data(await client.get(DELIVERY, headers=me.headers))
    assert (shown["quiet_hours"], shown["digest"]) == (None, False)

    night = {"start": "22:30", "end": "07:00"}  # spans midnight
    after = data(await client.put(DELIVERY, json={"quiet_hours": night}, headers=me.headers))
    assert (after["quiet_hours"], after["digest"]) == (night, False)
    after = data(await client.put(DELIVERY, json={"digest": True}, headers=me.headers))
    assert (after["quiet_hours"], after["digest"]) == (night, True), "digest alone leaves quiet hours be"
    data(await client.put(DELIVERY, json={"quiet_hours": night, "digest": True}, headers=me.headers))  # no change
    moved = data(
        await client.put(DELIVERY, json={"quiet_hours": {"start": "22:30", "end": "06:15"}}, headers=me.headers)
    )
    assert moved["quiet_hours"] == {"start": "22:30", "end": "06:15"}
    off = data(await client.put(DELIVERY, json={"quiet_hours": None}, headers=me.headers))
    assert (off["quiet_hours"], off["digest"]) == (None, True)
    assert data(await client.get(DELIVERY, headers=me.headers)) == off

    assert await announced(env) == [
        {"quiet_hours": night},
        {"digest": True},
        {"quiet_hours": {"start": "22:30", "end": "06:15"}},
        {"quiet_hours": None},
    ]
    events = [e for e in await env.outbox("user.updated") if e["data"]["section"] == "notifications"]
    assert all(e["data"]["user_id"] == str(me.user_id) for e in events)


BAD: list[tuple[dict[str, Any], str]] = [
    ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
    ({"quiet_hours": {"end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours.end"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "22:00", "end": "7pm"}}, "quiet_hours.end"),
    ({"quiet_hours": {"start": 1320, "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "22:00", "end": "07:00", "zone": "UTC"}}, "quiet_hours.zone"),
    ({"quiet_hours": ["22:00", "07:00"]}, "quiet_hours"),
    ({"digest": "true"}, "digest"),
    ({"digest": None}, "digest"),
    ({"quiet": None}, "quiet"),
]


async def test_bad_input_is_422_naming_the_field_and_changes_nothing(env) -> None:
    me = await env.signup()
    client = env.svc.client
    data(await client.put(DELIVERY, json={"quiet_hours": {"start": "23:00", "end": "06:00"}}, headers=me.headers))
    before = data(await client.get(DELIVERY, headers=me.headers))
    for body, field in BAD:
        response = await client.put(DELIVERY, json={"digest": True, **body}, headers=me.headers)
        assert response.status_code == 422, response.text
        assert {d["field"] for d in response.json()["error"]["details"]} == {field}, body
    assert data(await client.get(DELIVERY, headers=me.headers)) == before
    assert len(await announced(env)) == 1


async def test_malformed_json_is_400_and_a_stranger_or_no_token_never_reaches_a_row(env) -> None:
    alice, bob = await env.signup(), await env.signup()
    client = env.svc.client
    bad = await client.put(
        DELIVERY, content=b'{"digest": tr', headers={**alice.headers, "content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "MALFORMED_JSON"
    assert (await client.get(DELIVERY)).status_code == 401
    assert (await client.put(DELIVERY, json={"digest": True})).status_code == 401
    nobody = env.keys.auth(uuid.uuid4())
    assert (await client.get(DELIVERY, headers=nobody)).status_code == 404
    assert (await client.put(DELIVERY, json={"digest": True}, headers=nobody)).status_code == 404

    data(await client.put(DELIVERY, json={"quiet_hours": {"start": "21:00", "end": "08:00"}}, headers=alice.headers))
    data(await client.put(DELIVERY, json={"digest": True}, headers=bob.headers))
    alices = data(await client.get(DELIVERY, headers=alice.headers))
    assert (alices["quiet_hours"], alices["digest"]) == ({"start": "21:00", "end": "08:00"}, False)
    bobs = data(await client.get(DELIVERY, headers=bob.headers))
    assert (bobs["quiet_hours"], bobs["digest"]) == (None, True)


async def test_exported_with_the_users_data_and_purged_with_it(env) -> None:
    me, other = await env.signup(), await env.signup()
    data(
        await env.svc.client.put(DELIVERY, json={"quiet_hours": {"start": "22:00", "end": "07:00"}}, headers=me.headers)
    )
    params = {"user_id": str(me.user_id)}
    headers = {"Authorization": f"Bearer {mint_service_token(env.svc.settings.service_token_secret, 'report')}"}
    export = data(await env.svc.client.get("/internal/v1/export", params=params, headers=headers))
    (row,) = export["tables"]["delivery_preferences"]
    assert (row["quiet_start"], row["quiet_end"], row["digest"]) == ("22:00:00", "07:00:00", False)

    await env.publish(UserDeleted(user_id=me.user_id, deleted_at=datetime.now(UTC)))

    async def purged() -> bool:
        return await env.count(DeliveryPreferences, DeliveryPreferences.user_id == me.user_id) == 0

    await env.until(purged)
    assert await env.count(DeliveryPreferences, DeliveryPreferences.user_id == other.user_id) == 1


async def test_the_migration_gives_every_existing_profile_its_row(stack: Stack) -> None:
    name = f"t_user_backfill_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(stack.postgres.url(driver="postgresql"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade(service_dir("user"), stack.postgres.url(name), "0002_profiles_preferences_family")
        conn = await asyncpg.connect(stack.postgres.url(name, driver="postgresql"))
        try:
            await conn.execute(
                "INSERT INTO user_profiles (id, user_id, email) VALUES ($1, $2, 'old@example.com')",
                uuid.uuid4(),
                user := uuid.uuid4(),
            )
            upgrade(service_dir("user"), stack.postgres.url(name))
            rows = await conn.fetch("SELECT user_id, quiet_start, quiet_end, digest FROM delivery_preferences")
            assert [tuple(r) for r in rows] == [(user, None, None, False)]
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute("UPDATE delivery_preferences SET quiet_start = $1", time(22, 0))
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
