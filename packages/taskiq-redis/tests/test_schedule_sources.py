"""RedisScheduleSource and ListRedisScheduleSource: run-time add/delete, kinds, scale."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Connection, Redis
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq_redis import ListRedisScheduleSource, RedisBroker, RedisScheduleSource

SOURCES = [RedisScheduleSource, ListRedisScheduleSource]


class CountingConnection(Connection):
    """Counts what is written to Redis: one call per round trip (pipelines included)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


@pytest.fixture(params=SOURCES, ids=lambda cls: cls.__name__)
async def source(
    request: pytest.FixtureRequest,
    redis_url: str,
    queue_name: str,
) -> AsyncIterator[RedisScheduleSource | ListRedisScheduleSource]:
    source = request.param(redis_url, prefix=queue_name, connection_class=CountingConnection)
    await source.startup()
    yield source
    await source.shutdown()


def _ids(schedules: list[ScheduledTask]) -> set[str]:
    return {schedule.schedule_id for schedule in schedules}


async def test_cron_time_and_interval_schedules_round_trip(source: ScheduleSource) -> None:
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    cron = ScheduledTask(task_name="t", cron="*/5 * * * *", cron_offset="Europe/Paris", args=[1])
    once = ScheduledTask(task_name="t", time=soon, kwargs={"a": "b"}, labels={"x": 1})
    every = ScheduledTask(task_name="t", interval=datetime.timedelta(seconds=90))
    for schedule in (cron, once, every):
        await source.add_schedule(schedule)
    stored = {schedule.schedule_id: schedule for schedule in await source.get_schedules()}
    assert stored == {cron.schedule_id: cron, once.schedule_id: once, every.schedule_id: every}


async def test_delete_and_post_send_of_one_off_schedules(source: ScheduleSource) -> None:
    once = ScheduledTask(task_name="t", time=datetime.datetime.now(datetime.timezone.utc))
    cron = ScheduledTask(task_name="t", cron="* * * * *")
    await source.add_schedule(once)
    await source.add_schedule(cron)
    await source.post_send(cron)
    await source.post_send(once)
    assert _ids(await source.get_schedules()) == {cron.schedule_id}
    await source.delete_schedule(cron.schedule_id)
    await source.delete_schedule("never-existed")
    assert await source.get_schedules() == []


async def test_schedule_by_methods_store_and_unschedule(
    source: ScheduleSource,
    redis_url: str,
    queue_name: str,
) -> None:
    broker = RedisBroker(redis_url, queue_name=queue_name)

    @broker.task(task_name="scheduled")
    async def scheduled(number: int) -> int:
        return number

    by_cron = await scheduled.schedule_by_cron(source, "0 * * * *", 1)
    by_interval = await scheduled.schedule_by_interval(source, 30, 2)
    by_time = await scheduled.schedule_by_time(
        source, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=60), 3
    )
    stored = {schedule.schedule_id: schedule for schedule in await source.get_schedules()}
    assert stored[by_cron.schedule_id].cron == "0 * * * *"
    assert stored[by_interval.schedule_id].args == [2]
    assert stored[by_time.schedule_id].task_name == "scheduled"
    await by_cron.unschedule()
    await by_time.unschedule()
    assert _ids(await source.get_schedules()) == {by_interval.schedule_id}


async def test_unreadable_schedule_is_skipped_not_fatal(
    source: RedisScheduleSource | ListRedisScheduleSource,
    redis_client: Redis,
) -> None:
    good = ScheduledTask(task_name="t", cron="* * * * *")
    bad = ScheduledTask(task_name="t", cron="* * * * *")
    await source.add_schedule(good)
    await source.add_schedule(bad)
    if isinstance(source, RedisScheduleSource):
        await redis_client.hset(source.key, bad.schedule_id, b"\x00garbage")  # type: ignore[misc]
    else:
        await redis_client.set(source.data_prefix + bad.schedule_id, b"\x00garbage")
    assert _ids(await source.get_schedules()) == {good.schedule_id}


async def test_get_schedules_takes_constant_round_trips_for_10000(
    source: RedisScheduleSource | ListRedisScheduleSource,
) -> None:
    due = datetime.datetime.now(datetime.timezone.utc)
    schedules = [
        ScheduledTask(task_name="t", cron="* * * * *")
        if number % 2
        else ScheduledTask(task_name="t", time=due, args=[number])
        for number in range(10_000)
    ]
    for start in range(0, len(schedules), 200):
        await asyncio.gather(*(source.add_schedule(s) for s in schedules[start : start + 200]))
    CountingConnection.sent = 0
    found = await source.get_schedules()
    round_trips = CountingConnection.sent
    assert len(found) == 10_000
    assert round_trips <= 2, f"get_schedules took {round_trips} round trips"
