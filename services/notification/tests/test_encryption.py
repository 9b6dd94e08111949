"""How to reach a person (email, phone, each delivery's address) and webhook secrets are stored encrypted."""

import uuid
from urllib.parse import parse_qs

import pytest

from pfms_contracts.identity import UserUpdated
from pfms_contracts.notification import NotificationRequested
from pfms_devservers import Stack
from pfms_notification.models import Delivery, Recipient
from pfms_notification.settings import Settings
from pfms_platform.testing.encryption import leaked, migrating, stored

pytestmark = pytest.mark.integration

EMAIL, PHONE = "ada.private@example.com", "+15557654321"


async def test_contact_details_and_webhook_secrets_never_reach_the_tables_in_plaintext(start, receiver) -> None:
    env = await start(sms_base_url=receiver.url, sms_account_sid="AC1", sms_auth_token="t", sms_from="+15550000000")
    user = await env.person(email=EMAIL)
    await env.publish(UserUpdated(user_id=user, section="profile", changes={"phone": PHONE}))

    async def phone_known() -> bool:
        async with env.svc.db.sessions() as session:
            row = await session.get(Recipient, user)
        return row is not None and row.phone == PHONE

    await env.until(phone_known)
    hook = await env.svc.client.post(
        "/api/v1/notifications/webhooks",
        json={"url": f"{receiver.url}/hook", "event_types": ["goal.achieved"]},
        headers=env.keys.auth(user),
    )
    assert hook.status_code == 201, hook.text
    secret = hook.json()["data"]["secret"]
    await env.publish(NotificationRequested(user_id=user, category="security", title="New sign-in", message="Hi"))

    async def sent() -> bool:
        return await env.svc.count(Delivery, Delivery.status == "sent") >= 2

    await env.until(sent)
    sms = [r for r in receiver.requests if r["path"].endswith("/Messages.json")]
    assert parse_qs(sms[0]["body"].decode())["To"] == [PHONE], "the channel reads the decrypted phone"
    assert env.mails_to(EMAIL), "the mail went to the decrypted address"

    rows = await stored(env.svc.db, "recipients", "email", "phone")
    rows += await stored(env.svc.db, "notification_deliveries", "address")
    rows += await stored(env.svc.db, "webhook_endpoints", "secret")
    assert leaked(rows, EMAIL, PHONE, secret, "ada.private", "7654321") == []
    assert all(str(cell).startswith("v1:dev:") for row in rows for cell in row if cell is not None)


async def test_the_migration_encrypts_existing_rows_and_its_downgrade_decrypts_them(stack: Stack) -> None:
    async with migrating(stack, "notification", "0002_notifications") as db:
        user, endpoint = uuid.uuid4(), uuid.uuid4()
        await db.sql("INSERT INTO recipients (user_id, email, phone) VALUES ($1, $2, $3)", user, EMAIL, PHONE)
        await db.sql(
            "INSERT INTO webhook_endpoints (id, user_id, url, event_types, mode, secret, active) "
            "VALUES ($1, $2, 'https://example.com/h', '{}', 'structured', 'whsec_abc', true)",
            endpoint,
            user,
        )
        db.upgrade()
        (row,) = await db.sql("SELECT r.email, r.phone, w.secret FROM recipients r, webhook_endpoints w")
        assert leaked([tuple(row)], EMAIL, PHONE, "whsec_abc") == []
        assert Settings().field_keyring().decrypt(row["email"], "recipients.email") == EMAIL
        db.downgrade("0002_notifications")
        (row,) = await db.sql("SELECT r.email, r.phone, w.secret FROM recipients r, webhook_endpoints w")
        assert tuple(row) == (EMAIL, PHONE, "whsec_abc")
