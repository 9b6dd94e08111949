"""Pure rules: switches, quiet hours across time zones and DST, digest, backoff, templates, signatures, SSRF."""

import ipaddress
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pfms_notification import domain, signing, ssrf
from pfms_notification.domain import Channel, Priority, Recipient
from pfms_platform.errors import Invalid

NIGHT = Recipient(timezone="Asia/Kolkata", quiet_start=time(22, 0), quiet_end=time(7, 0))


def test_switches_default_like_the_user_service_and_overrides_win() -> None:
    assert domain.enabled(Channel.EMAIL, "security", {})
    assert not domain.enabled(Channel.EMAIL, "expense", {})
    assert domain.enabled(Channel.IN_APP, "group", {})
    assert domain.enabled(Channel.EMAIL, "expense", {("email", "expense"): True})
    assert not domain.enabled(Channel.IN_APP, "group", {("in_app", "group"): False})


def test_quiet_hours_are_in_the_persons_zone_and_span_midnight() -> None:
    # 17:00 UTC is 22:30 in Kolkata (UTC+5:30): quiet until 07:00 local = 01:30 UTC next day.
    now = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    assert domain.quiet_until(now, NIGHT) == datetime(2026, 3, 11, 1, 30, tzinfo=UTC)
    # 00:30 UTC is 06:00 local, still quiet, ends the same local morning.
    assert domain.quiet_until(datetime(2026, 3, 11, 0, 30, tzinfo=UTC), NIGHT) == datetime(
        2026, 3, 11, 1, 30, tzinfo=UTC
    )
    # 10:00 UTC is 15:30 local: not quiet.
    assert domain.quiet_until(datetime(2026, 3, 10, 10, 0, tzinfo=UTC), NIGHT) is None
    # The same instant is quiet for nobody without quiet hours, or in another zone.
    assert domain.quiet_until(now, Recipient()) is None
    assert (
        domain.quiet_until(now, Recipient(timezone="America/New_York", quiet_start=time(22), quiet_end=time(7))) is None
    )


def test_quiet_hours_end_follows_a_dst_change_that_night() -> None:
    # New York springs forward on 2026-03-08 at 02:00: 07:00 EDT is 11:00 UTC (not 12:00 as in EST).
    person = Recipient(timezone="America/New_York", quiet_start=time(23, 0), quiet_end=time(7, 0))
    now = datetime(2026, 3, 8, 4, 30, tzinfo=UTC)  # 23:30 EST on the 7th
    assert domain.quiet_until(now, person) == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)


def test_daytime_quiet_hours_do_not_wrap() -> None:
    person = Recipient(timezone="Europe/Berlin", quiet_start=time(9), quiet_end=time(17))
    assert domain.quiet_until(datetime(2026, 7, 1, 8, 0, tzinfo=UTC), person) == datetime(2026, 7, 1, 15, tzinfo=UTC)
    assert domain.quiet_until(datetime(2026, 7, 1, 16, 0, tzinfo=UTC), person) is None


def test_schedule_defers_normal_sends_high_and_digests_low_when_asked() -> None:
    now = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    end = datetime(2026, 3, 11, 1, 30, tzinfo=UTC)
    assert domain.schedule(now, NIGHT, Priority.HIGH) == ("pending", now)
    assert domain.schedule(now, NIGHT, Priority.NORMAL) == ("pending", end)
    assert domain.schedule(now, NIGHT, Priority.LOW) == ("pending", end)
    digest = Recipient(timezone=NIGHT.timezone, quiet_start=NIGHT.quiet_start, quiet_end=NIGHT.quiet_end, digest=True)
    assert domain.schedule(now, digest, Priority.LOW) == ("digest", end)
    assert domain.schedule(now, digest, Priority.NORMAL) == ("pending", end)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Lord_Howe"]),
    st.times(),
    st.times(),
)
def test_a_deferred_send_never_lands_inside_quiet_hours_nor_more_than_a_day_late(
    now: datetime, tz: str, start: time, end: time
) -> None:
    person = Recipient(timezone=tz, quiet_start=start.replace(microsecond=0), quiet_end=end.replace(microsecond=0))
    until = domain.quiet_until(now, person)
    if until is not None:
        assert now < until <= now + timedelta(days=1, hours=1)
        assert domain.quiet_until(until, person) is None or until.astimezone(domain.zone(tz)).fold


def test_digest_goes_once_a_local_day_after_its_hour() -> None:
    person = Recipient(timezone="Asia/Tokyo")
    morning = datetime(2026, 5, 1, 0, 30, tzinfo=UTC)  # 09:30 Tokyo
    assert domain.digest_due(morning, person, None, hour=8)
    assert not domain.digest_due(morning, person, date(2026, 5, 1), hour=8)
    assert not domain.digest_due(morning, person, None, hour=10)


def test_backoff_doubles_and_the_last_try_fails() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert [domain.retry_delay(n, 2.0).total_seconds() for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert domain.retry_delay(30, 2.0, 60).total_seconds() == 60
    assert domain.after_failure(1, 3, now, 1.0) == ("pending", now + timedelta(seconds=1))
    assert domain.after_failure(3, 3, now, 1.0) == ("failed", now)


def test_templates_render_in_a_sandbox() -> None:
    assert domain.render("{{ name }} spent {{ spent }}", {"name": "Food", "spent": "10.00"}) == "Food spent 10.00"
    assert domain.render("{{ missing.deeper }}x", {}) == "x"
    assert domain.render("{{ ''.__class__.__mro__ }}{{ data.__init__.__globals__ }}", {"data": {}}) == ""


def test_a_receiver_verifies_the_signature_and_notices_tampering() -> None:
    secret = signing.new_secret()
    body = b'{"type":"budget.threshold_reached"}'
    headers = signing.headers(secret, "msg_1", 1_700_000_000, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert signing.verify(secret, "msg_1", 1_700_000_000, body, headers["webhook-signature"])
    assert not signing.verify(secret, "msg_1", 1_700_000_001, body, headers["webhook-signature"])
    assert not signing.verify(secret, "msg_1", 1_700_000_000, body + b" ", headers["webhook-signature"])
    assert not signing.verify(signing.new_secret(), "msg_1", 1_700_000_000, body, headers["webhook-signature"])


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "127.0.0.1",
        "169.254.169.254",
        "::1",
        "fd00:ec2::254",
        "192.168.0.1",
        "172.16.5.5",
        "224.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "::ffff:10.0.0.1",
        "fe80::1",
        "240.0.0.1",
    ],
)
def test_private_and_special_addresses_are_refused(address: str) -> None:
    assert ssrf.refusal(ipaddress.ip_address(address)) is not None


def test_public_addresses_pass_and_loopback_only_when_allowed() -> None:
    assert ssrf.refusal(ipaddress.ip_address("93.184.216.34")) is None
    assert ssrf.refusal(ipaddress.ip_address("2606:4700::1111")) is None
    assert ssrf.refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert ssrf.refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) is not None


async def test_urls_are_resolved_and_vetted() -> None:
    for url in (
        "http://10.0.0.1/x",
        "https://10.0.0.1/x",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
        "ftp://example.com/",
        "https://user:pw@example.com/",
    ):
        with pytest.raises(Invalid) as refused:
            await ssrf.resolve(url)
        assert refused.value.details[0]["field"] == "url", url
    target = await ssrf.resolve("http://127.0.0.1:8080/hook", allow_loopback_http=True)
    assert target.pinned_url == "http://127.0.0.1:8080/hook"
    with pytest.raises(Invalid):
        await ssrf.resolve("http://10.0.0.1/hook", allow_loopback_http=True)


def test_group_expense_reaches_each_sharer_but_the_adder() -> None:
    from pfms_contracts.group import GroupExpenseCreated, MemberAmount
    from pfms_notification.intents import BUILDERS

    adder, other = uuid.uuid4(), uuid.uuid4()
    event = GroupExpenseCreated(
        user_id=adder,
        group_id=uuid.uuid4(),
        expense_id=uuid.uuid4(),
        description="Dinner",
        expense_date=date(2026, 1, 1),
        amount="30",
        currency="USD",
        group_currency="USD",
        fx_rate="1",
        group_amount="30",
        split_type="equal",
        shares=[MemberAmount(user_id=adder, amount="15"), MemberAmount(user_id=other, amount="15")],
        payers=[MemberAmount(user_id=adder, amount="30")],
    )
    intents = BUILDERS[event.type](event)
    assert [i.user_id for i in intents] == [other]
    assert intents[0].data["your_share"] == "15"
