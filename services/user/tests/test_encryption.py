"""Profiles' phone numbers are stored encrypted; both read paths (ORM and the lean reader) decrypt them."""

import uuid

import pytest

from pfms_devservers import Stack
from pfms_platform.crypto import keyring_of
from pfms_platform.testing.encryption import leaked, migrating, stored
from pfms_user.settings import Settings

pytestmark = pytest.mark.integration

PROFILE = "/api/v1/user/profile"
PHONE = "+447911123456"


async def test_the_phone_never_reaches_the_table_in_plaintext(env) -> None:
    me = await env.signup()
    updated = await env.svc.client.put(PROFILE, json={"phone": PHONE}, headers=me.headers)
    assert updated.status_code == 200, updated.text
    (row,) = await stored(env.svc.db, "user_profiles", "phone")
    assert leaked([row], PHONE, "7911123456") == [] and row[0].startswith("v1:dev:")
    assert (await env.svc.client.get(PROFILE, headers=me.headers)).json()["data"]["phone"] == PHONE
    ring = keyring_of(env.svc.db.engine.sync_engine.dialect)
    assert ring.keys == env.svc.settings.field_keyring().keys, "create_app installed the service's own keys"


async def test_the_migration_encrypts_existing_phones_and_its_downgrade_decrypts_them(stack: Stack) -> None:
    async with migrating(stack, "user", "0003_delivery_preferences") as db:
        await db.sql(
            "INSERT INTO user_profiles (id, user_id, email, phone) VALUES ($1, $2, 'a@example.com', $3)",
            uuid.uuid4(),
            uuid.uuid4(),
            PHONE,
        )
        db.upgrade()
        (row,) = await db.sql("SELECT phone FROM user_profiles")
        assert Settings().field_keyring().decrypt(row["phone"], "user_profiles.phone") == PHONE
        db.downgrade("0003_delivery_preferences")
        assert [r["phone"] for r in await db.sql("SELECT phone FROM user_profiles")] == [PHONE]
