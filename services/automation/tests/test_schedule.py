"""Cron schedules in the user's time zone: wall-clock fires across daylight-saving changes."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pfms_automation.conditions import RuleError
from pfms_automation.schedule import check_cron, fires_between, next_fire, zone

BERLIN = ZoneInfo("Europe/Berlin")


def local(instants: list[datetime], tz: ZoneInfo = BERLIN) -> list[str]:
    return [i.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") for i in instants]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (  # spring forward: Sunday 29 March 2026, 02:00 → 03:00
            datetime(2026, 3, 27, 12, tzinfo=UTC),
            ["2026-03-28 09:00 CET", "2026-03-29 09:00 CEST", "2026-03-30 09:00 CEST"],
        ),
        (  # fall back: Sunday 25 October 2026, 03:00 → 02:00
            datetime(2026, 10, 23, 12, tzinfo=UTC),
            ["2026-10-24 09:00 CEST", "2026-10-25 09:00 CET", "2026-10-26 09:00 CET"],
        ),
    ],
)
def test_nine_every_morning_stays_nine_local_across_the_change(start: datetime, expected: list[str]) -> None:
    fires = fires_between("0 9 * * *", BERLIN, start, start + timedelta(days=3))
    assert local(fires) == expected


def test_a_time_repeated_in_autumn_fires_once() -> None:
    start = datetime(2026, 10, 24, 12, tzinfo=UTC)
    fires = fires_between("30 2 * * *", BERLIN, start, start + timedelta(days=2))
    assert local(fires) == ["2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"]


def test_a_time_skipped_in_spring_fires_once_after_the_jump() -> None:
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    fires = fires_between("30 2 * * *", BERLIN, start, start + timedelta(days=2))
    assert local(fires) == ["2026-03-29 03:30 CEST", "2026-03-30 02:30 CEST"]


def test_every_half_hour_through_the_autumn_night_never_repeats_an_instant() -> None:
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)
    fires = fires_between("*/30 * * * *", BERLIN, start, start + timedelta(hours=6))
    assert len(fires) == len(set(fires))
    assert fires == sorted(fires)
    assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(fires))


def test_next_fire_is_strictly_after_and_in_utc() -> None:
    at = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (CEST)
    fire = next_fire("0 9 * * *", BERLIN, at)
    assert fire == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    assert fire.tzinfo == UTC


def test_other_zones() -> None:
    fire = next_fire("0 9 * * 1", ZoneInfo("America/New_York"), datetime(2026, 3, 6, tzinfo=UTC))
    assert fire == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)  # first Monday after the US change: EDT


def test_a_schedule_that_never_fires_is_refused() -> None:
    with pytest.raises(RuleError) as caught:
        next_fire("0 0 31 2 *", BERLIN, datetime(2026, 1, 1, tzinfo=UTC))
    assert caught.value.path == "trigger.cron"


@pytest.mark.parametrize("bad", ["0 9 * *", "61 * * * *", "* * * * * *", "every day", ""])
def test_bad_cron(bad: str) -> None:
    with pytest.raises(RuleError) as caught:
        check_cron(bad)
    assert caught.value.path == "trigger.cron"


def test_bad_zone() -> None:
    with pytest.raises(RuleError):
        zone("Mars/Olympus")
    assert zone("Asia/Kolkata").key == "Asia/Kolkata"
