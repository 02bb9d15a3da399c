"""TaskiqScheduler and its loop: what gets sent, when, and what survives bad input."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any

import pytest
from taskiq import AsyncBroker, BrokerMessage, ScheduledTask, ScheduleSource, TaskiqScheduler
from taskiq.api import run_scheduler_task
from taskiq.exceptions import ScheduledTaskCancelledError
from taskiq.message import TaskiqMessage
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.merge_functions import only_unique
from taskiq.scheduler.runner import ScheduleRunner

UTC = datetime.timezone.utc


class RecordingBroker(AsyncBroker):
    """Records what the scheduler sends, with the wall-clock time it arrived."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__()
        self.sent: list[tuple[float, TaskiqMessage]] = []
        self.events: list[str] = []
        self.fail_first = fail_first

    async def startup(self) -> None:
        self.events.append("broker startup")
        await super().startup()

    async def shutdown(self) -> None:
        self.events.append("broker shutdown")
        await super().shutdown()

    async def kick(self, message: BrokerMessage) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise ConnectionError("broker is down")
        self.sent.append((time.time(), self.formatter.loads(message.message)))

    async def listen(self) -> AsyncGenerator[bytes, None]:  # pragma: no cover - never listened
        raise NotImplementedError
        yield b""

    def names(self) -> list[str]:
        return [message.task_name for _, message in self.sent]


class MemorySource(ScheduleSource):
    """A storing source in a dict; deletes one-off schedules after they fire."""

    def __init__(self, schedules: Iterable[ScheduledTask] = (), events: list[str] | None = None):
        self.schedules = {s.schedule_id: s for s in schedules}
        self.events = events if events is not None else []
        self.fail_reads = 0
        self.cancel_next = 0
        self.pre_sends = 0

    async def startup(self) -> None:
        self.events.append("source startup")

    async def shutdown(self) -> None:
        self.events.append("source shutdown")

    async def get_schedules(self) -> list[ScheduledTask]:
        if self.fail_reads > 0:
            self.fail_reads -= 1
            raise ConnectionError("source is down")
        return list(self.schedules.values())

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        self.schedules[schedule.schedule_id] = schedule

    async def delete_schedule(self, schedule_id: str) -> None:
        self.schedules.pop(schedule_id, None)

    async def pre_send(self, task: ScheduledTask) -> None:
        self.pre_sends += 1
        if self.cancel_next > 0:
            self.cancel_next -= 1
            raise ScheduledTaskCancelledError

    async def post_send(self, task: ScheduledTask) -> None:
        if task.time is not None:
            self.schedules.pop(task.schedule_id, None)


async def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        await asyncio.sleep(0.01)


async def run_for(
    scheduler: TaskiqScheduler,
    until: Callable[[], bool],
    **options: Any,
) -> None:
    """Run the scheduler until ``until()`` holds, then cancel it."""
    running = asyncio.create_task(run_scheduler_task(scheduler, **options))
    try:
        await wait_until(lambda: until() or running.done())
        if running.done():
            running.result()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def in_seconds(seconds: float) -> datetime.datetime:
    return datetime.datetime.now(tz=UTC) + datetime.timedelta(seconds=seconds)


async def test_startup_starts_sources_then_broker_and_shutdown_stops_both() -> None:
    broker = RecordingBroker()
    source = MemorySource(events=broker.events)
    scheduler = TaskiqScheduler(broker, [source])
    await scheduler.startup()
    await scheduler.shutdown()
    assert broker.events == [
        "source startup",
        "broker startup",
        "broker shutdown",
        "source shutdown",
    ]


async def test_time_schedule_three_seconds_ahead_fires_within_a_second_of_it() -> None:
    broker = RecordingBroker()
    target = in_seconds(3)

    @broker.task(schedule=[{"time": target, "args": [1], "kwargs": {"b": 2}}])
    async def once(a: int, b: int) -> None: ...

    source = LabelScheduleSource(broker)
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: bool(broker.sent), run_startup=True, interval=30)
    sent_at, message = broker.sent[0]
    assert abs(sent_at - target.timestamp()) < 1.0
    assert (message.task_name, message.args, message.kwargs) == (once.task_name, [1], {"b": 2})
    assert await source.get_schedules() == []  # the label source dropped the fired one-off


async def test_naive_time_is_utc() -> None:
    broker = RecordingBroker()
    naive_target = in_seconds(1).astimezone(UTC).replace(tzinfo=None)
    source = MemorySource([ScheduledTask(task_name="naive", time=naive_target)])
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: bool(broker.sent), interval=30)
    sent_at, _ = broker.sent[0]
    assert abs(sent_at - naive_target.replace(tzinfo=UTC).timestamp()) < 1.0


async def test_one_off_added_at_run_time_is_picked_up_on_the_next_read() -> None:
    broker = RecordingBroker()
    source = MemorySource()
    scheduler = TaskiqScheduler(broker, [source])
    running = asyncio.create_task(run_scheduler_task(scheduler, interval=0.2))
    try:
        await asyncio.sleep(0.3)
        await source.add_schedule(ScheduledTask(task_name="later", time=in_seconds(0.5)))
        await wait_until(lambda: bool(broker.sent))
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert broker.names() == ["later"]
    assert source.schedules == {}


async def test_interval_schedule_fires_repeatedly_with_its_labels() -> None:
    broker = RecordingBroker()
    source = MemorySource(
        [ScheduledTask(task_name="tick", interval=1, labels={"priority": 3, "team": "ops"})],
    )
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: len(broker.sent) >= 3, interval=30)
    assert broker.names()[:3] == ["tick", "tick", "tick"]
    assert broker.sent[0][1].labels == {"priority": 3, "team": "ops"}
    gaps = [b[0] - a[0] for a, b in zip(broker.sent, broker.sent[1:], strict=False)]
    assert all(gap >= 0.85 for gap in gaps[1:])  # on whole seconds, after the current one


async def test_cron_due_in_the_current_minute_fires_at_start_unless_skip_first_run() -> None:
    broker = RecordingBroker()
    source = MemorySource([ScheduledTask(task_name="minutely", cron="* * * * *")])
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: bool(broker.sent), interval=30)
    assert broker.names() == ["minutely"]

    skipping = ScheduleRunner(scheduler, update_interval=30, skip_first_run=True)
    before = datetime.datetime.now(tz=UTC)
    await skipping.refresh()
    next_fire = skipping.upcoming()[next(iter(source.schedules))]
    assert next_fire > before
    assert next_fire == before.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)


async def test_skip_first_run_waits_for_the_next_epoch_aligned_interval_fire() -> None:
    broker = RecordingBroker()
    source = MemorySource([ScheduledTask(task_name="tick", interval=1)])
    scheduler = TaskiqScheduler(broker, [source])
    started = time.time()
    await run_for(scheduler, lambda: bool(broker.sent), interval=30, skip_first_run=True)
    sent_at = broker.sent[0][0]
    assert sent_at > started
    assert sent_at - int(sent_at) < 0.1  # on a whole second, the one after start-up


async def test_pre_send_cancellation_skips_that_firing_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="taskiq.scheduler")
    broker = RecordingBroker()
    source = MemorySource([ScheduledTask(task_name="tick", interval=1)])
    source.cancel_next = 2
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: len(broker.sent) >= 2, interval=30)
    assert source.pre_sends >= 4
    assert len(broker.sent) <= source.pre_sends - 2
    assert "cancelled this run" in caplog.text


async def test_broken_schedules_are_logged_once_and_the_good_one_still_fires(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RecordingBroker()
    bad = [
        ScheduledTask(task_name="bad_cron", cron="every tuesday", schedule_id="bad-cron"),
        ScheduledTask(
            task_name="bad_zone", cron="* * * * *", cron_offset="Nowhere/Land", schedule_id="z"
        ),
        ScheduledTask(task_name="bad_interval", interval=-1, schedule_id="bad-interval"),
    ]
    good = ScheduledTask(task_name="good", time=in_seconds(0.5))
    source = MemorySource([*bad, good])
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: bool(broker.sent), interval=0.05)
    assert broker.names() == ["good"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert sorted(r.getMessage().split()[2] for r in errors) == ["bad-cron", "bad-interval", "z"]
    assert "every tuesday" in caplog.text
    assert "Nowhere/Land" in caplog.text


async def test_a_failing_source_keeps_its_previous_schedules(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RecordingBroker()
    source = MemorySource([ScheduledTask(task_name="tick", interval=1)])
    scheduler = TaskiqScheduler(broker, [source])
    runner = ScheduleRunner(scheduler, update_interval=0.05)
    await runner.refresh()
    source.fail_reads = 3
    for _ in range(3):
        await runner.refresh()
    assert list(runner.upcoming()) == list(source.schedules)
    assert "Cannot read schedules" in caplog.text
    await run_for(scheduler, lambda: bool(broker.sent), interval=0.05)


async def test_a_one_off_whose_send_failed_is_sent_again_after_the_next_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RecordingBroker(fail_first=1)
    source = MemorySource([ScheduledTask(task_name="important", time=in_seconds(0.2))])
    scheduler = TaskiqScheduler(broker, [source])
    await run_for(scheduler, lambda: bool(broker.sent), interval=0.2)
    assert broker.names() == ["important"]
    assert "will retry" in caplog.text
    assert source.schedules == {}


async def test_only_unique_sends_a_schedule_listed_by_two_sources_once() -> None:
    broker = RecordingBroker()
    target = in_seconds(0.3)
    first = MemorySource([ScheduledTask(task_name="dup", time=target, schedule_id="a")])
    second = MemorySource([ScheduledTask(task_name="dup", time=target, schedule_id="b")])
    scheduler = TaskiqScheduler(broker, [first, second], merge_func=only_unique)
    runner = ScheduleRunner(scheduler, update_interval=30)
    await runner.refresh()
    assert list(runner.upcoming()) == ["a"]

    preserving = TaskiqScheduler(broker, [first, second])
    runner = ScheduleRunner(preserving, update_interval=30)
    await runner.refresh()
    assert sorted(runner.upcoming()) == ["a", "b"]


async def test_run_scheduler_task_runs_until_cancelled_and_stops_what_it_started() -> None:
    broker = RecordingBroker()
    source = MemorySource([ScheduledTask(task_name="tick", interval=1)], events=broker.events)
    scheduler = TaskiqScheduler(broker, [source])
    running = asyncio.create_task(run_scheduler_task(scheduler, run_startup=True))
    await wait_until(lambda: len(broker.sent) >= 2)
    assert not running.done()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert running.cancelled()
    assert broker.events == [
        "source startup",
        "broker startup",
        "broker shutdown",
        "source shutdown",
    ]
    count = len(broker.sent)
    await asyncio.sleep(0.3)
    assert len(broker.sent) == count  # nothing is sent after cancellation


async def test_run_scheduler_task_without_run_startup_leaves_the_broker_to_the_caller() -> None:
    broker = RecordingBroker()
    source = MemorySource([ScheduledTask(task_name="tick", interval=1)], events=broker.events)
    scheduler = TaskiqScheduler(broker, [source])
    await broker.startup()
    await run_for(scheduler, lambda: bool(broker.sent))
    assert broker.events == ["broker startup", "source startup", "source shutdown"]
    await broker.shutdown()


def test_scheduler_is_importable_from_documented_paths() -> None:
    import taskiq
    import taskiq.scheduler
    import taskiq.scheduler.scheduler
    from taskiq.scheduler.created_schedule import CreatedSchedule
    from taskiq.scheduler.merge_functions import only_unique, preserve_all

    assert taskiq.TaskiqScheduler is taskiq.scheduler.TaskiqScheduler
    assert taskiq.scheduler.scheduler.TaskiqScheduler is TaskiqScheduler
    assert taskiq.scheduler.ScheduledTask is taskiq.ScheduledTask
    assert taskiq.scheduler.CreatedSchedule is CreatedSchedule
    assert taskiq.scheduler.only_unique is only_unique
    assert taskiq.scheduler.preserve_all is preserve_all


async def test_a_failing_merge_function_and_junk_from_a_source_do_not_stop_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = RecordingBroker()

    class JunkSource(MemorySource):
        async def get_schedules(self) -> list[Any]:
            return ["not a schedule", *await super().get_schedules()]

    def broken_merge(old: list[ScheduledTask], new: list[ScheduledTask]) -> list[ScheduledTask]:
        raise RuntimeError("merge bug")

    source = JunkSource([ScheduledTask(task_name="tick", interval=1)])
    scheduler = TaskiqScheduler(broker, [source], merge_func=broken_merge)
    await run_for(scheduler, lambda: len(broker.sent) >= 2, interval=0.05)
    assert "merge function failed" in caplog.text
    assert "non-ScheduledTask" in caplog.text


async def test_sources_with_plain_function_hooks_are_accepted() -> None:
    broker = RecordingBroker()
    calls: list[str] = []

    class SyncHooks(MemorySource):
        def pre_send(self, task: ScheduledTask) -> None:  # type: ignore[override]
            calls.append("pre")

        def post_send(self, task: ScheduledTask) -> None:  # type: ignore[override]
            calls.append("post")

    source = SyncHooks([ScheduledTask(task_name="tick", interval=1)])
    await run_for(TaskiqScheduler(broker, [source]), lambda: len(broker.sent) >= 2)
    assert calls[:4] == ["pre", "post", "pre", "post"]


@pytest.mark.parametrize("delay", [0, -1.0])
def test_a_non_positive_refresh_delay_is_refused(delay: float) -> None:
    with pytest.raises(ValueError, match="refresh_delay"):
        TaskiqScheduler(RecordingBroker(), [], refresh_delay=delay)


def test_a_negative_update_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="update_interval"):
        ScheduleRunner(TaskiqScheduler(RecordingBroker(), []), update_interval=-1)


async def test_with_default_settings_a_run_time_one_off_three_seconds_ahead_is_on_time() -> None:
    broker = RecordingBroker()
    source = MemorySource()
    scheduler = TaskiqScheduler(broker, [source])  # default refresh_delay: 1 s
    running = asyncio.create_task(run_scheduler_task(scheduler))
    try:
        target = in_seconds(3)
        await source.add_schedule(ScheduledTask(task_name="soon", time=target))
        await wait_until(lambda: bool(broker.sent))
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert abs(broker.sent[0][0] - target.timestamp()) < 1.0


async def test_startup_twice_starts_everything_once() -> None:
    broker = RecordingBroker()
    source = MemorySource(events=broker.events)
    scheduler = TaskiqScheduler(broker, [source])
    await scheduler.startup()
    await scheduler.startup()
    await scheduler.shutdown()
    await scheduler.shutdown()
    assert broker.events.count("broker startup") == 1
    assert broker.events.count("source shutdown") == 1
