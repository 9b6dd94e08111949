"""Events become in-app notifications and mails; the inbox routes act on the caller's items only."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import aio_pika
import pytest
from sqlalchemy import func, select

from pfms_contracts import CloudEvent
from pfms_contracts.expense import BudgetThresholdReached
from pfms_contracts.identity import PasswordResetRequested, UserDeleted
from pfms_contracts.notification import NotificationRequested
from pfms_contracts.spaces import SpaceInvitationCreated
from pfms_devservers import free_port
from pfms_notification.models import Delivery, Notification, Recipient
from pfms_platform.testing.helpers import publish_event

pytestmark = pytest.mark.integration


def budget_event(user: uuid.UUID, threshold: int = 80) -> BudgetThresholdReached:
    return BudgetThresholdReached(
        user_id=user,
        budget_id=uuid.uuid4(),
        budget_name="Groceries",
        threshold_percent=threshold,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        budget_amount=Decimal("400.00"),
        spent=Decimal("320.00"),
        percent_used=Decimal("80.00"),
        currency="EUR",
    )


async def test_a_budget_alert_becomes_an_inbox_item_and_a_mail_read_back_from_the_maildir(env) -> None:
    address = f"ada-{uuid.uuid4().hex[:6]}@example.com"
    user = await env.person(email=address, switches=[{"channel": "email", "category": "expense", "enabled": True}])
    event = budget_event(user)
    await env.publish(event, source="expense")
    await env.publish(event, source="expense")  # the same fact again (a new event id): deduplicated

    async def mailed() -> bool:
        return len(env.mails_to(address)) == 1

    await env.until(mailed)
    mail = env.mails_to(address)[0]
    assert mail["Subject"] == "Budget alert: Groceries reached 80%"
    assert "320.00 EUR of your 400.00 EUR budget" in mail.get_content()
    listed = (await env.svc.client.get("/api/v1/notifications", headers=env.keys.auth(user))).json()
    assert listed["pagination"]["total"] == 1
    item = listed["data"][0]
    assert item["title"] == "Groceries: 80% of your budget used"
    assert item["read"] is False and item["category"] == "expense"
    detail = (await env.svc.client.get(f"/api/v1/notifications/{item['id']}", headers=env.keys.auth(user))).json()
    assert {d["channel"]: d["status"] for d in detail["data"]["deliveries"]} == {"email": "sent"}


async def test_smtp_down_fails_the_mail_after_its_retries_and_the_inbox_and_api_keep_working(start) -> None:
    env = await start(smtp_port=free_port())  # nothing listens there: the mail server is down
    address = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    user = await env.person(email=address, switches=[{"channel": "email", "category": "expense", "enabled": True}])
    await env.publish(budget_event(user), source="expense")

    async def mail_failed() -> bool:
        async with env.svc.db.sessions() as session:
            rows = (await session.scalars(select(Delivery).where(Delivery.user_id == user))).all()
        return len(rows) == 1 and rows[0].status == "failed" and rows[0].attempts == 3

    await env.until(mail_failed)  # tried delivery_max_attempts times with backoff, then given up
    listed = await env.svc.client.get("/api/v1/notifications", headers=env.keys.auth(user))
    assert listed.status_code == 200 and listed.json()["pagination"]["total"] == 1  # the in-app copy is there
    assert env.mails_to(address) == []


async def test_inbox_filters_counts_marks_read_and_deletes_only_the_callers_items(env) -> None:
    me, other = await env.person(), await env.person()
    for n in range(3):
        await env.publish(NotificationRequested(user_id=me, category="system", title=f"T{n}", message="m"))
    await env.publish(NotificationRequested(user_id=other, category="system", title="theirs", message="m"))
    await env.until(lambda: _count(env, 4))
    mine, theirs = env.keys.auth(me), env.keys.auth(other)
    client = env.svc.client
    assert (await client.get("/api/v1/notifications/unread-count", headers=mine)).json()["data"] == {"unread": 3}
    items = (await client.get("/api/v1/notifications?limit=2", headers=mine)).json()
    assert [i["title"] for i in items["data"]] == ["T2", "T1"] and items["pagination"]["has_next"] is True
    first = items["data"][0]["id"]

    assert (await client.post(f"/api/v1/notifications/{first}/read", headers=theirs)).status_code == 404
    assert (await client.delete(f"/api/v1/notifications/{first}", headers=theirs)).status_code == 404
    assert (await client.get(f"/api/v1/notifications/{first}", headers=theirs)).status_code == 404
    read = await client.post(f"/api/v1/notifications/{first}/read", headers=mine)
    assert read.status_code == 200 and read.json()["data"]["read"] is True
    await client.post(f"/api/v1/notifications/{first}/read", headers=mine)  # idempotent: no second event
    unread = (await client.get("/api/v1/notifications?unread=true", headers=mine)).json()
    assert unread["pagination"]["total"] == 2
    assert (await client.post("/api/v1/notifications/read-all", headers=mine)).json()["data"] == {"marked": 2}
    receipts = await env.outbox("notification.read")
    assert [r["data"]["all_unread"] for r in receipts] == [False, True]
    assert receipts[0]["data"]["notification_ids"] == [first] and len(receipts[1]["data"]["notification_ids"]) == 2
    assert (await client.delete(f"/api/v1/notifications/{first}", headers=mine)).status_code == 204
    assert (await client.get("/api/v1/notifications", headers=mine)).json()["pagination"]["total"] == 2
    assert (await client.get("/api/v1/notifications/unread-count", headers=theirs)).json()["data"] == {"unread": 1}
    assert (await client.get("/api/v1/notifications")).status_code == 401


async def _count(env, n: int) -> bool:
    async with env.svc.db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Notification)) == n


async def test_password_reset_mail_goes_to_the_address_in_the_event_and_never_to_the_inbox(env) -> None:
    user = await env.person()
    address = f"reset-{uuid.uuid4().hex[:6]}@example.com"
    await env.publish(
        PasswordResetRequested(user_id=user, email=address, token="tok-123", expires_at=datetime.now(UTC)),
        source="auth",
    )

    async def mailed() -> bool:
        return len(env.mails_to(address)) == 1

    await env.until(mailed)
    assert "/reset-password?token=tok-123" in env.mails_to(address)[0].get_content()
    rows = await env.notifications(user)
    assert len(rows) == 1 and rows[0].in_app is False and "token" not in rows[0].data
    assert (await env.svc.client.get("/api/v1/notifications", headers=env.keys.auth(user))).json()["data"] == []


async def test_a_space_invitation_mails_the_invitee_and_is_recorded_for_the_inviter_without_its_token(env) -> None:
    inviter = await env.person()
    address = f"invitee-{uuid.uuid4().hex[:6]}@example.com"
    invitation = uuid.uuid4()
    event = SpaceInvitationCreated(
        user_id=inviter,
        invitation_id=invitation,
        space_id=uuid.uuid4(),
        space_name="Home",
        role="member",
        invitee_email=address,
        token="tok-456",
    )
    await env.publish(event, source="user")
    await env.publish(event, source="user")  # redelivered as a new event: one mail

    async def mailed() -> bool:
        return len(env.mails_to(address)) == 1

    await env.until(mailed)
    mail = env.mails_to(address)[0]
    assert mail["Subject"] == "You are invited to Home on PFMS"
    assert f"/spaces/invitations/{invitation}?token=tok-456" in mail.get_content()
    rows = await env.notifications(inviter)
    assert len(rows) == 1 and rows[0].title == "Space invitation sent" and "token" not in rows[0].data


async def test_internal_send_needs_a_service_token_and_dedupes(env) -> None:
    user = await env.person()
    body = {"user_id": str(user), "category": "system", "title": "Hi", "message": "There", "dedupe_key": "k1"}
    client = env.svc.client
    assert (await client.post("/internal/v1/notifications/send", json=body)).status_code == 401
    assert (
        await client.post("/internal/v1/notifications/send", json=body, headers=env.keys.auth(user))
    ).status_code == 401
    first = await client.post("/internal/v1/notifications/send", json=body, headers=env.service_headers())
    assert first.status_code == 201 and first.json()["data"] == {"created": True}
    again = await client.post("/internal/v1/notifications/send", json=body, headers=env.service_headers())
    assert again.json()["data"] == {"created": False}
    assert (await client.post("/api/v1/notifications/send", json=body, headers=env.keys.auth(user))).status_code in (
        404,
        405,
        422,
    )


async def test_user_deleted_purges_every_row_of_the_person(env) -> None:
    user = await env.person(switches=[{"channel": "email", "category": "expense", "enabled": True}])
    headers = env.keys.auth(user)
    await env.svc.client.post(
        "/api/v1/notifications/devices", json={"token": "device-token-1", "platform": "ios"}, headers=headers
    )
    await env.publish(budget_event(user))
    await env.until(lambda: _count(env, 1))
    await env.publish(UserDeleted(user_id=user, deleted_at=datetime.now(UTC)), source="auth")

    async def purged() -> bool:
        async with env.svc.db.sessions() as session:
            left = 0
            for model in (Notification, Delivery, Recipient):
                left += await session.scalar(select(func.count()).select_from(model).where(model.user_id == user)) or 0
        return left == 0

    await env.until(purged)
    # the deleted account's token is refused from now on (pfms_platform.revocation), not answered with nothing
    assert (await env.svc.client.get("/api/v1/notifications/devices", headers=headers)).status_code == 401


async def test_a_malformed_event_is_parked_and_the_rest_of_its_batch_is_applied(env) -> None:
    user = await env.person()
    broken = CloudEvent(source="expense", type="budget.threshold_reached", data={"user_id": str(user)})
    await publish_event(env.svc.settings.amqp_url, budget_event(user), source="expense", event=broken)
    await env.publish(NotificationRequested(user_id=user, category="system", title="Fine", message="m"))
    await env.until(lambda: _count(env, 1))
    connection = await aio_pika.connect(env.svc.settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue("notification.events.dlq", passive=True)

        async def parked() -> bool:
            message = await dlq.get(fail=False)
            return message is not None and CloudEvent.model_validate_json(message.body).id == broken.id

        await env.until(parked)
    assert [n.title for n in await env.notifications(user)] == ["Fine"]
