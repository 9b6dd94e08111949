"""TOTP secrets and OAuth provider tokens are stored encrypted (AES-256-GCM under auth's field keys)."""

import uuid

import pytest

from pfms_auth import keys
from pfms_auth.models import OAuthProvider
from pfms_auth.settings import Settings
from pfms_devservers import Stack
from pfms_platform.testing.encryption import leaked, migrating, stored

from .conftest import Harness

pytestmark = pytest.mark.integration

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


async def test_totp_secrets_and_provider_tokens_never_reach_the_tables_in_plaintext(auth: Harness) -> None:
    person = await auth.signed_in()
    setup = await auth.client.post("/api/v1/auth/mfa/setup", headers=person.headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["data"]["secret"]
    async with auth.svc.db.sessions() as db, db.begin():
        db.add(
            OAuthProvider(
                user_id=person.user_id,
                provider="google",
                provider_user_id="g-1",
                access_token="ya29.access-token",
                refresh_token="1//refresh-token",
            )
        )
    rows = await stored(auth.svc.db, "mfa_settings", "secret_encrypted")
    rows += await stored(auth.svc.db, "oauth_providers", "access_token", "refresh_token")
    assert leaked(rows, secret, "access-token", "refresh-token") == []
    assert all(str(cell).startswith("v1:dev:") for row in rows for cell in row)


async def test_the_migration_moves_fernet_sealed_secrets_to_field_encryption_and_back(stack: Stack) -> None:
    settings = Settings()
    box = keys.sealer(settings.key_encryption_key)
    async with migrating(stack, "auth", "0004_audit_events") as db:
        user = uuid.uuid4()
        await db.sql("INSERT INTO users (id, email) VALUES ($1, 'ada@example.com')", user)
        await db.sql(
            "INSERT INTO mfa_settings (id, user_id, secret_encrypted) VALUES ($1, $2, $3)",
            uuid.uuid4(),
            user,
            box.encrypt(SECRET.encode()).decode(),
        )
        await db.sql(
            "INSERT INTO oauth_providers (id, user_id, provider, provider_user_id, access_token) "
            "VALUES ($1, $2, 'google', 'g-1', 'ya29.token')",
            uuid.uuid4(),
            user,
        )
        db.upgrade()
        (row,) = await db.sql("SELECT m.secret_encrypted, o.access_token FROM mfa_settings m, oauth_providers o")
        ring = settings.field_keyring()
        assert ring.decrypt(row["secret_encrypted"], "mfa_settings.secret_encrypted") == SECRET
        assert ring.decrypt(row["access_token"], "oauth_providers.access_token") == "ya29.token"
        db.downgrade("0004_audit_events")
        (row,) = await db.sql("SELECT m.secret_encrypted, o.access_token FROM mfa_settings m, oauth_providers o")
        assert box.decrypt(row["secret_encrypted"].encode()).decode() == SECRET
        assert row["access_token"] == "ya29.token"
