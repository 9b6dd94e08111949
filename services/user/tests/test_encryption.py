"""Profiles' phone numbers are stored encrypted; both read paths (ORM and the lean reader) decrypt them."""

import base64
import uuid

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from pfms_devservers import Stack
from pfms_platform.crypto import install, key_id, keyring_of, new_key
from pfms_platform.rekey import rekey
from pfms_platform.testing.encryption import leaked, migrating, stored
from pfms_user.models import UserProfile
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


async def test_pfms_rekey_moves_every_phone_to_the_new_key_and_the_old_one_can_go(env) -> None:
    me = await env.signup()
    await env.svc.client.put(PROFILE, json={"phone": PHONE}, headers=me.headers)
    old = base64.b64encode(env.svc.settings.field_keyring().keys["dev"]).decode()
    rotated = env.svc.settings.model_copy(update={"field_keys": {"k2": SecretStr(new_key()), "dev": SecretStr(old)}})
    rotated.field_key_current = "k2"
    assert await rekey(rotated, "pfms_user") == {"user_profiles.phone": 1}
    (row,) = await stored(env.svc.db, "user_profiles", "phone")
    assert key_id(row[0]) == "k2"
    only_new = rotated.model_copy(update={"field_keys": {"k2": rotated.field_keys["k2"]}})
    install(env.svc.db.engine, only_new.field_keyring())  # what the restart with the old key dropped does
    async with env.svc.db.sessions() as session:
        assert await session.scalar(select(UserProfile.phone)) == PHONE
