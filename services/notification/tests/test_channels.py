"""SMS against a local HTTP server, quiet hours and digest with an injected clock, the live stream."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from pfms_contracts.identity import UserUpdated
from pfms_contracts.notification import NotificationRequested
from pfms_notification.models import Delivery, Recipient
from pfms_platform.testing.helpers import metric, served

pytestmark = pytest.mark.integration

SECURITY_SMS = {"channel": "sms", "category": "security", "enabled": True}
SETTINGS = "/api/v1/notifications/settings"


async def hear_delivery(env, user: uuid.UUID, changes: dict) -> None:
    """What the user service publishes on `PUT /api/v1/user/preferences/delivery`; waits until applied here."""
    await env.publish(UserUpdated(user_id=user, section="notifications", changes=changes), source="user")
    quiet = changes.get("quiet_hours", {}) or {}
    expected = {"digest": changes.get("digest")} if "digest" in changes else {}
    if "quiet_hours" in changes:
        expected["quiet_start"] = time.fromisoformat(quiet["start"]) if quiet else None
        expected["quiet_end"] = time.fromisoformat(quiet["end"]) if quiet else None

    async def applied() -> bool:
        async with env.svc.db.sessions() as session:
            row = await session.get(Recipient, user)
        return row is not None and all(getattr(row, key) == value for key, value in expected.items())

    await env.until(applied)


async def deliveries(env, user: uuid.UUID, channel: str) -> list[Delivery]:
    async with env.svc.db.sessions() as session:
        rows = await session.scalars(select(Delivery).where(Delivery.user_id == user, Delivery.channel == channel))
        return list(rows.all())


async def settled(env, user: uuid.UUID, channel: str, status: str, count: int = 1) -> None:
    async def check() -> bool:
        rows = await deliveries(env, user, channel)
        return len(rows) == count and all(r.status == status for r in rows)

    await env.until(check)


async def test_sms_goes_through_the_gateway_to_the_profiles_phone(start, receiver) -> None:
    env = await start(
        sms_base_url=receiver.url,
        sms_account_sid="AC123",
        sms_auth_token="secret",
        sms_from="+15550000000",
    )
    user = await env.person()
    await env.publish(UserUpdated(user_id=user, section="profile", changes={"phone": "+15551234567"}))
    await env.until(lambda: _phone_known(env, user))
    sent_before = await metric(env.svc.client, "notifications_sent_total", service="notification", channel="sms")
    await env.publish(
        NotificationRequested(user_id=user, category="security", title="New sign-in", message="From Berlin")
    )
    await settled(env, user, "sms", "sent")
    assert (
        await metric(env.svc.client, "notifications_sent_total", service="notification", channel="sms")
        == sent_before + 1
    )
    sms = [r for r in receiver.requests if r["path"] == "/2010-04-01/Accounts/AC123/Messages.json"]
    form = parse_qs(sms[0]["body"].decode())
    assert form["To"] == ["+15551234567"] and form["From"] == ["+15550000000"]
    assert form["Body"] == ["PFMS: New sign-in. From Berlin"]


async def _phone_known(env, user: uuid.UUID) -> bool:
    from pfms_notification.models import Recipient

    async with env.svc.db.sessions() as session:
        row = await session.get(Recipient, user)
    return row is not None and row.phone is not None


async def test_a_failing_provider_is_retried_with_backoff_then_the_delivery_fails(start, receiver) -> None:
    env = await start(sms_base_url=receiver.url, sms_account_sid="AC1")
    receiver.answers.extend([503, 503, 503])
    user = await env.person(switches=[SECURITY_SMS])
    await env.publish(UserUpdated(user_id=user, section="profile", changes={"phone": "+15557654321"}))
    await env.until(lambda: _phone_known(env, user))
    await env.publish(NotificationRequested(user_id=user, category="security", title="Code", message="123456"))
    await settled(env, user, "sms", "failed")
    row = (await deliveries(env, user, "sms"))[0]
    assert row.attempts == 3 and row.last_error is not None and "503" in row.last_error
    assert len(receiver.requests) == 3


async def test_a_refused_number_fails_at_once_without_retries(start, receiver) -> None:
    env = await start(sms_base_url=receiver.url, sms_account_sid="AC1")
    receiver.answers.append(400)
    user = await env.person()
    await env.publish(UserUpdated(user_id=user, section="profile", changes={"phone": "+1000"}))
    await env.until(lambda: _phone_known(env, user))
    await env.publish(NotificationRequested(user_id=user, category="security", title="Code", message="1"))
    await settled(env, user, "sms", "failed")
    assert (await deliveries(env, user, "sms"))[0].attempts == 1


async def test_quiet_hours_defer_normal_mail_in_the_persons_zone_and_high_priority_goes_at_once(env) -> None:
    address = f"q-{uuid.uuid4().hex[:6]}@example.com"
    user = await env.person(email=address)
    await env.publish(UserUpdated(user_id=user, section="profile", changes={"timezone": "Asia/Kolkata"}))
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    start_at, end_at = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    quiet = {"start": start_at.strftime("%H:%M"), "end": end_at.strftime("%H:%M")}
    await hear_delivery(env, user, {"quiet_hours": quiet})
    await env.publish(NotificationRequested(user_id=user, category="system", title="Later", message="m"))
    await env.publish(NotificationRequested(user_id=user, category="system", title="Now", message="m", priority="high"))

    async def mailed(n: int) -> bool:
        return len(env.mails_to(address)) == n

    await env.until(lambda: mailed(1))
    assert env.mails_to(address)[0]["Subject"] == "Now"

    async def recorded() -> bool:  # the mail can land before the dispatcher's commit marks its row sent
        return sorted(d.status for d in await deliveries(env, user, "email")) == ["pending", "sent"]

    await env.until(recorded)
    held = [d for d in await deliveries(env, user, "email") if d.status == "pending"]
    # the window ends at its next end time: an hour from now, to the minute (whichever side of midnight)
    expected_end = (local + timedelta(hours=1)).replace(second=0, microsecond=0, tzinfo=None)
    assert held[0].next_attempt_at.astimezone(local.tzinfo).replace(tzinfo=None) == expected_end
    dispatcher = env.svc.app.state.dispatcher
    dispatcher.clock = lambda: held[0].next_attempt_at + timedelta(seconds=1)
    await env.until(lambda: mailed(2))
    assert sorted(m["Subject"] for m in env.mails_to(address)) == ["Later", "Now"]


async def test_quiet_hours_and_digest_come_from_the_user_service_and_settings_only_shows_them(env) -> None:
    user, other = await env.person(), await env.person()
    headers, client = env.keys.auth(user), env.svc.client
    off = {"timezone": "UTC", "quiet_hours": None, "digest": False}
    assert (await client.get(SETTINGS, headers=headers)).json()["data"] == off
    assert (await client.put(SETTINGS, json={"digest": True}, headers=headers)).status_code == 405
    await env.publish(UserUpdated(user_id=user, section="profile", changes={"timezone": "Europe/Paris"}))
    await hear_delivery(env, user, {"quiet_hours": {"start": "22:00", "end": "07:00"}, "digest": True})
    assert (await client.get(SETTINGS, headers=headers)).json()["data"] == {
        "timezone": "Europe/Paris",
        "quiet_hours": {"start": "22:00:00", "end": "07:00:00"},
        "digest": True,
    }
    await hear_delivery(env, user, {"quiet_hours": None})
    shown = (await client.get(SETTINGS, headers=headers)).json()["data"]
    assert (shown["quiet_hours"], shown["digest"]) == (None, True), "digest untouched by a quiet-hours change"
    assert (await client.get(SETTINGS, headers=env.keys.auth(other))).json()["data"] == off


async def test_low_priority_items_in_quiet_hours_wait_for_the_daily_digest(start) -> None:
    env = await start(dispatch_interval_seconds=3600)  # the test drives the jobs with its own clock
    address = f"d-{uuid.uuid4().hex[:6]}@example.com"
    user = await env.person(email=address)
    await hear_delivery(env, user, {"quiet_hours": {"start": "00:00", "end": "23:59"}, "digest": True})
    for title in ("Coffee", "Lunch"):
        await env.publish(
            NotificationRequested(user_id=user, category="system", title=title, message="spent", priority="low")
        )
    await settled(env, user, "email", "digest", count=2)
    dispatcher = env.svc.app.state.dispatcher
    late_tomorrow = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(23, 59, 30), tzinfo=UTC)
    dispatcher.clock = lambda: late_tomorrow
    assert await dispatcher.send_digests() == 1
    assert await dispatcher.send_digests() == 0, "once a day"
    assert await dispatcher.send_due() == 1
    mail = env.mails_to(address)
    assert len(mail) == 1 and mail[0]["Subject"] == "Your daily digest (2)"
    assert "- Coffee: spent" in mail[0].get_content() and "- Lunch: spent" in mail[0].get_content()


async def test_the_live_stream_sends_new_in_app_items_as_server_sent_events(env) -> None:
    user = await env.person()
    stream = "/api/v1/notifications/stream"
    async with (
        served(env.svc.app) as base,
        httpx.AsyncClient(base_url=base, timeout=10) as client,
        client.stream("GET", stream, headers=env.keys.auth(user)) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await anext(lines) == "retry: 3000"
        await env.publish(NotificationRequested(user_id=user, category="system", title="Live", message="now"))
        got: list[str] = []
        async with asyncio.timeout(10):
            async for line in lines:
                got.append(line)
                if line.startswith("data: "):
                    break
    assert "event: notification" in got
    assert json.loads(got[-1].removeprefix("data: "))["title"] == "Live"
