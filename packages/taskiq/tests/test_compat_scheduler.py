"""Scheduler API from Taskiq's docs: plugins, sources written as the docs show them."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from taskiq import (
    Context,
    InMemoryBroker,
    ScheduledTask,
    SchedulerPlugin,
    ScheduleSource,
    TaskiqDepends,
    TaskiqScheduler,
)
from taskiq.abc.scheduler_plugin import SchedulerPlugin as PluginFromAbc
from taskiq.api import run_scheduler_task
from taskiq.schedule_sources import LabelScheduleSource

DEADLINE = 20.0


class OneOffSource(ScheduleSource):
    """Returns one schedule that is already due, as a user-written source would."""

    def __init__(self, task_name: str) -> None:
        self.task_name = task_name

    async def get_schedules(self) -> list[ScheduledTask]:
        due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        return [
            ScheduledTask(task_name=self.task_name, labels={}, args=[7], kwargs={}, time=due),
        ]


class AsyncRecorder(SchedulerPlugin):
    """Records every hook with async methods."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, Any]] = []

    async def startup(self) -> None:
        self.calls.append(("startup", self.scheduler.broker))

    async def shutdown(self) -> None:
        self.calls.append(("shutdown", None))

    async def on_schedules_updated(
        self,
        source: ScheduleSource,
        schedules: list[ScheduledTask],
    ) -> None:
        self.calls.append(("updated", (source, len(schedules))))

    async def pre_send(self, source: ScheduleSource, task: ScheduledTask) -> None:
        self.calls.append(("pre_send", task.args))

    async def post_send(self, source: ScheduleSource, task: ScheduledTask) -> None:
        self.calls.append(("post_send", task.args))


class SyncBrokenPlugin(SchedulerPlugin):
    """Plain-function hooks that all fail: the scheduler must keep sending."""

    def on_schedules_updated(self, source: ScheduleSource, schedules: list[ScheduledTask]) -> None:
        raise RuntimeError("plugin bug in on_schedules_updated")

    def pre_send(self, source: ScheduleSource, task: ScheduledTask) -> None:
        raise RuntimeError("plugin bug in pre_send")

    def post_send(self, source: ScheduleSource, task: ScheduledTask) -> None:
        raise RuntimeError("plugin bug in post_send")


def _broker_with_task() -> tuple[InMemoryBroker, asyncio.Queue[int], str]:
    broker = InMemoryBroker()
    received: asyncio.Queue[int] = asyncio.Queue()

    @broker.task(task_name="compat.scheduled")
    async def scheduled(value: int) -> None:
        await received.put(value)

    return broker, received, scheduled.task_name


async def _run_until_sent(scheduler: TaskiqScheduler, received: asyncio.Queue[int]) -> int:
    running = asyncio.create_task(run_scheduler_task(scheduler, run_startup=True))
    try:
        return await asyncio.wait_for(received.get(), DEADLINE)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_scheduler_plugin_sees_startup_reads_sends_and_shutdown() -> None:
    broker, received, name = _broker_with_task()
    source = OneOffSource(name)
    plugin = AsyncRecorder()
    scheduler = TaskiqScheduler(broker=broker, sources=[source], plugins=[plugin])
    assert plugin.scheduler is scheduler

    assert await _run_until_sent(scheduler, received) == 7

    hooks = [hook for hook, _ in plugin.calls]
    assert hooks[0] == "startup"
    assert plugin.calls[0][1] is broker
    assert ("updated", (source, 1)) in plugin.calls
    assert hooks.index("pre_send") < hooks.index("post_send") < hooks.index("shutdown")
    assert ("pre_send", [7]) in plugin.calls
    assert hooks[-1] == "shutdown"


async def test_failing_sync_plugin_does_not_stop_a_schedule_from_firing() -> None:
    broker, received, name = _broker_with_task()
    scheduler = TaskiqScheduler(broker, [OneOffSource(name)], plugins=[SyncBrokenPlugin()])
    assert await _run_until_sent(scheduler, received) == 7


async def test_plugin_startup_error_fails_the_scheduler_startup() -> None:
    class CannotStart(SchedulerPlugin):
        def startup(self) -> None:
            raise ConnectionError("admin panel unreachable")

    broker, _, name = _broker_with_task()
    scheduler = TaskiqScheduler(broker, [OneOffSource(name)], plugins=[CannotStart()])
    with pytest.raises(ConnectionError, match="admin panel unreachable"):
        await scheduler.startup()
    await broker.shutdown()


def test_scheduler_plugin_import_paths_and_label_source_example() -> None:
    broker = InMemoryBroker()
    plugin = AsyncRecorder()
    scheduler = TaskiqScheduler(
        broker=broker,
        sources=[LabelScheduleSource(broker)],
        plugins=[plugin],
    )
    assert PluginFromAbc is SchedulerPlugin
    assert scheduler.plugins == [plugin]
    assert TaskiqScheduler(broker, [LabelScheduleSource(broker)]).plugins == []


class StoringSource(ScheduleSource):
    """Keeps what ``schedule_by_*`` adds, like a database-backed source."""

    def __init__(self) -> None:
        self.schedules: dict[str, ScheduledTask] = {}

    async def get_schedules(self) -> list[ScheduledTask]:
        return list(self.schedules.values())

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        self.schedules[schedule.schedule_id] = schedule

    async def delete_schedule(self, schedule_id: str) -> None:
        self.schedules.pop(schedule_id, None)


async def test_kicker_task_id_is_stored_with_the_schedule_and_used_when_it_fires() -> None:
    broker = InMemoryBroker()
    ran: asyncio.Queue[str] = asyncio.Queue()

    @broker.task(task_name="compat.fixed_id")
    async def fixed_id(context: Context = TaskiqDepends()) -> None:
        await ran.put(context.message.task_id)

    source = StoringSource()
    due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    created = await fixed_id.kicker().with_task_id("report-2024").schedule_by_time(source, due)
    assert source.schedules[created.schedule_id].task_id == "report-2024"
    plain = await fixed_id.schedule_by_time(StoringSource(), due)
    assert plain.task.task_id is None

    scheduler = TaskiqScheduler(broker, [source])
    running = asyncio.create_task(run_scheduler_task(scheduler, run_startup=True))
    try:
        assert await asyncio.wait_for(ran.get(), DEADLINE) == "report-2024"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
