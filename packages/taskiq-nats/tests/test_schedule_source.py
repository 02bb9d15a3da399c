"""NATSKeyValueScheduleSource on the real server: add, list, delete at run time."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from typing import Any

import pytest
from taskiq import InMemoryBroker, TaskiqScheduler
from taskiq.api import run_scheduler_task
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq_nats import JetStreamBroker, NATSKeyValueScheduleSource
from taskiq_nats.buckets import result_key


@pytest.fixture
async def source(nats_url: str, names: Any) -> Any:
    store = NATSKeyValueScheduleSource(nats_url, bucket_name=names.bucket("schedules"))
    await store.startup()
    yield store
    await store.shutdown()


async def test_empty_bucket_has_no_schedules(source: Any) -> None:
    assert await source.get_schedules() == []


async def test_add_list_and_delete_at_run_time(source: Any) -> None:
    cron = ScheduledTask(task_name="m:every_minute", cron="* * * * *", args=[1], kwargs={"a": 2})
    once = ScheduledTask(
        task_name="m:once",
        time=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
        labels={"x": "y"},
    )
    await source.add_schedule(cron)
    await source.add_schedule(once)
    stored = {s.schedule_id: s for s in await source.get_schedules()}
    assert stored == {cron.schedule_id: cron, once.schedule_id: once}
    await source.delete_schedule(cron.schedule_id)
    assert [s.schedule_id for s in await source.get_schedules()] == [once.schedule_id]
    await source.delete_schedule("never-existed")


async def test_one_off_schedule_is_deleted_after_it_fired(source: Any) -> None:
    once = ScheduledTask(task_name="m:once", time=datetime.datetime(2030, 1, 1))
    every = ScheduledTask(task_name="m:every", interval=5)
    await source.add_schedule(once)
    await source.add_schedule(every)
    await source.post_send(every)
    await source.post_send(once)
    assert [s.schedule_id for s in await source.get_schedules()] == [every.schedule_id]


async def test_unreadable_entry_is_skipped_and_logged(
    source: Any, caplog: pytest.LogCaptureFixture
) -> None:
    good = ScheduledTask(task_name="m:good", interval=10)
    await source.add_schedule(good)
    await source.kv.put(result_key("schedule", "broken"), b"{not json")
    await source.kv.put(result_key("other", "ignored"), b"not a schedule key")
    assert [s.schedule_id for s in await source.get_schedules()] == [good.schedule_id]
    assert "schedule.broken" in caplog.text


async def test_kicker_schedules_and_unschedules_through_the_source(source: Any) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="m:report")
    async def report(day: str) -> None:
        """Scheduled, never run here."""

    created = await report.schedule_by_interval(source, 60, "monday")
    schedules = await source.get_schedules()
    assert [(s.task_name, s.args, s.interval) for s in schedules] == [("m:report", ["monday"], 60)]
    await created.unschedule()
    assert await source.get_schedules() == []


async def test_schedule_added_at_run_time_fires_through_the_scheduler(
    nats_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    """A running scheduler picks up a schedule added later; the one-off is then removed."""
    broker = JetStreamBroker(
        nats_url, queue=f"q_{names.suffix}", subject=names.subject(), stream_name=names.stream()
    )
    source = NATSKeyValueScheduleSource(nats_url, bucket_name=names.bucket("live"))
    runs: list[str] = []
    ping = broker.register_task(runs.append, task_name="ping")
    scheduler = TaskiqScheduler(broker, sources=[source])
    async with run_worker(broker):
        await scheduler.start_sources()
        running = asyncio.create_task(run_scheduler_task(scheduler, interval=0.2))
        try:
            due = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
            await ping.schedule_by_time(source, due, "pong")
            await eventually(lambda: runs == ["pong"], timeout=20)
            for _ in range(100):
                if not await source.get_schedules():
                    break
                await asyncio.sleep(0.1)
            assert await source.get_schedules() == []
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await scheduler.stop_sources()
