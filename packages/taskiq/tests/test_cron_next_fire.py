"""Next-fire computation with fixed "now" values: cron, zones, DST, one-off, interval."""

from __future__ import annotations

import datetime

import pytest
from taskiq.exceptions import ScheduleError
from taskiq.scheduler.next_fire import (
    as_utc,
    cron_fire_after,
    first_fire,
    following_fire,
    resolve_zone,
)
from taskiq.scheduler.scheduled_task import ScheduledTask

UTC = datetime.timezone.utc


def at(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=UTC)


def fires(cron: str, offset: str | datetime.timedelta | None, start: datetime.datetime, n: int):
    found = []
    moment = start
    for _ in range(n):
        moment = cron_fire_after(cron, offset, moment)
        found.append(moment)
    return found


def test_cron_in_utc_fires_on_matching_minutes_strictly_after_now() -> None:
    assert fires("*/5 * * * *", None, at(2026, 1, 1, 12, 0), 3) == [
        at(2026, 1, 1, 12, 5),
        at(2026, 1, 1, 12, 10),
        at(2026, 1, 1, 12, 15),
    ]
    assert cron_fire_after("*/5 * * * *", None, at(2026, 1, 1, 12, 4, 59, 999999)) == at(
        2026, 1, 1, 12, 5
    )


def test_naive_after_is_read_as_utc() -> None:
    naive = datetime.datetime(2026, 1, 1, 11, 59, 30)
    assert cron_fire_after("0 12 * * *", None, naive) == at(2026, 1, 1, 12, 0)


def test_cron_with_zone_name_follows_local_wall_time_in_winter_and_summer() -> None:
    # 09:00 in Paris is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST).
    assert cron_fire_after("0 9 * * *", "Europe/Paris", at(2026, 1, 15)) == at(2026, 1, 15, 8)
    assert cron_fire_after("0 9 * * *", "Europe/Paris", at(2026, 7, 15)) == at(2026, 7, 15, 7)


def test_cron_with_timedelta_offset_uses_a_fixed_offset() -> None:
    three_hours = datetime.timedelta(hours=3)
    assert cron_fire_after("0 12 * * *", three_hours, at(2026, 1, 1)) == at(2026, 1, 1, 9)
    assert cron_fire_after("0 12 * * *", three_hours, at(2026, 7, 1)) == at(2026, 7, 1, 9)


def test_wall_time_skipped_by_spring_forward_fires_once_at_the_jump() -> None:
    # Paris, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC); 02:30 never happens.
    assert cron_fire_after("30 2 * * *", "Europe/Paris", at(2026, 3, 28, 23)) == at(
        2026, 3, 29, 1, 0
    )
    # Every 15 minutes across the gap: one fire at the jump, then the normal grid.
    assert fires("*/15 * * * *", "Europe/Paris", at(2026, 3, 29, 0, 40), 4) == [
        at(2026, 3, 29, 0, 45),  # 01:45 CET
        at(2026, 3, 29, 1, 0),  # 03:00 CEST (02:00-02:45 do not exist)
        at(2026, 3, 29, 1, 15),
        at(2026, 3, 29, 1, 30),
    ]
    # The day after, 02:30 exists again (00:30 UTC in CEST).
    assert cron_fire_after("30 2 * * *", "Europe/Paris", at(2026, 3, 29, 2)) == at(
        2026, 3, 30, 0, 30
    )


def test_wall_time_repeated_by_fall_back_fires_once() -> None:
    # Paris, 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00 UTC); 02:30 happens twice.
    daily = fires("30 2 * * *", "Europe/Paris", at(2026, 10, 24, 12), 2)
    assert daily == [at(2026, 10, 25, 0, 30), at(2026, 10, 26, 1, 30)]
    half_hourly = fires("*/30 * * * *", "Europe/Paris", at(2026, 10, 24, 23, 45), 4)
    assert half_hourly == [
        at(2026, 10, 25, 0, 0),  # 02:00 CEST
        at(2026, 10, 25, 0, 30),  # 02:30 CEST
        at(2026, 10, 25, 2, 0),  # 03:00 CET: the repeated 02:xx CET are not sent again
        at(2026, 10, 25, 2, 30),
    ]


@pytest.mark.parametrize("cron", ["not a cron", "61 * * * *", "* * * *", "0 0 30 2 *"])
def test_bad_cron_raises_schedule_error(cron: str) -> None:
    with pytest.raises(ScheduleError):
        cron_fire_after(cron, None, at(2026, 1, 1))


def test_unknown_zone_raises_schedule_error_naming_it() -> None:
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        resolve_zone("Mars/Olympus")


def test_offset_beyond_a_day_raises_schedule_error() -> None:
    with pytest.raises(ScheduleError):
        resolve_zone(datetime.timedelta(hours=25))


def test_as_utc_reads_naive_as_utc_and_converts_aware() -> None:
    assert as_utc(datetime.datetime(2026, 1, 1, 12)) == at(2026, 1, 1, 12)
    paris_noon = datetime.datetime(2026, 1, 1, 12, tzinfo=resolve_zone("Europe/Paris"))
    assert as_utc(paris_noon) == at(2026, 1, 1, 11)


def test_one_off_time_fires_at_its_time_then_never_again() -> None:
    task = ScheduledTask(task_name="t", time=datetime.datetime(2026, 5, 1, 10))
    now = at(2026, 5, 1, 9)
    assert first_fire(task, now, now) == at(2026, 5, 1, 10)
    assert following_fire(task, at(2026, 5, 1, 10), at(2026, 5, 1, 10)) is None


def test_overdue_one_off_time_is_due_immediately() -> None:
    task = ScheduledTask(task_name="t", time=at(2026, 5, 1, 8))
    now = at(2026, 5, 1, 9)
    assert first_fire(task, now, now) <= now


def test_interval_fires_at_once_unless_since_is_now_then_every_period() -> None:
    task = ScheduledTask(task_name="t", interval=10)
    now = at(2026, 1, 1, 12, 0, 30)
    assert first_fire(task, at(2026, 1, 1, 12), now) == now
    assert first_fire(task, now, now) == at(2026, 1, 1, 12, 0, 40)
    assert following_fire(task, now, now) == at(2026, 1, 1, 12, 0, 40)


def test_interval_accepts_timedelta_and_skips_missed_periods_without_a_burst() -> None:
    task = ScheduledTask(task_name="t", interval=datetime.timedelta(seconds=10))
    fired_at = at(2026, 1, 1, 12, 0, 0)
    late_now = at(2026, 1, 1, 12, 0, 35)
    assert following_fire(task, fired_at, late_now) == at(2026, 1, 1, 12, 0, 40)


@pytest.mark.parametrize("interval", [0, -5, datetime.timedelta(0)])
def test_non_positive_interval_raises_schedule_error(interval: int | datetime.timedelta) -> None:
    task = ScheduledTask(task_name="t", interval=interval)
    now = at(2026, 1, 1)
    with pytest.raises(ScheduleError):
        first_fire(task, now, now)


def test_first_cron_fire_catches_up_on_the_current_minute_from_since() -> None:
    task = ScheduledTask(task_name="t", cron="* * * * *")
    now = at(2026, 1, 1, 12, 0, 20)
    minute_start = at(2026, 1, 1, 12, 0) - datetime.timedelta(microseconds=1)
    assert first_fire(task, minute_start, now) == at(2026, 1, 1, 12, 0)
    assert first_fire(task, now, now) == at(2026, 1, 1, 12, 1)


def test_following_cron_fire_skips_fires_missed_while_late() -> None:
    task = ScheduledTask(task_name="t", cron="* * * * *")
    assert following_fire(task, at(2026, 1, 1, 12, 0), at(2026, 1, 1, 12, 3, 10)) == at(
        2026, 1, 1, 12, 4
    )
