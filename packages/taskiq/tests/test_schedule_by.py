"""Run-time scheduling: ``task.schedule_by_*`` / ``kicker().schedule_by_*`` and CreatedSchedule."""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import AsyncGenerator, Callable

import pytest
from taskiq import AsyncBroker, BrokerMessage, ScheduledTask, ScheduleSource, TaskiqScheduler
from taskiq.api import run_scheduler_task
from taskiq.exceptions import ScheduleError, SendTaskError
from taskiq.message import TaskiqMessage
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.created_schedule import CreatedSchedule
from taskiq.scheduler.scheduled_task import CronSpec

UTC = datetime.timezone.utc


class StoringSource(ScheduleSource):
    """The smallest source that stores schedules: a dict; one-offs go after firing."""

    def __init__(self) -> None:
        self.schedules: dict[str, ScheduledTask] = {}
        self.reads = 0

    async def get_schedules(self) -> list[ScheduledTask]:
        self.reads += 1
        return list(self.schedules.values())

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        self.schedules[schedule.schedule_id] = schedule

    async def delete_schedule(self, schedule_id: str) -> None:
        del self.schedules[schedule_id]

    async def post_send(self, task: ScheduledTask) -> None:
        if task.time is not None:
            self.schedules.pop(task.schedule_id, None)


class RecordingBroker(AsyncBroker):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[TaskiqMessage] = []

    async def kick(self, message: BrokerMessage) -> None:
        self.sent.append(self.formatter.loads(message.message))

    async def listen(self) -> AsyncGenerator[bytes, None]:  # pragma: no cover - never listened
        raise NotImplementedError
        yield b""


async def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        await asyncio.sleep(0.01)


@pytest.fixture
def broker() -> RecordingBroker:
    return RecordingBroker()


async def test_schedule_by_cron_stores_the_call_and_unschedule_deletes_it(
    broker: RecordingBroker,
) -> None:
    @broker.task(task_name="report", queue="low")
    async def report(day: str, full: bool = False) -> int:
        return 1

    source = StoringSource()
    created = await report.schedule_by_cron(source, "0 9 * * 1-5", "monday", full=True)
    assert isinstance(created, CreatedSchedule)
    stored = source.schedules[created.schedule_id]
    assert (stored.task_name, stored.cron, stored.args, stored.kwargs) == (
        "report",
        "0 9 * * 1-5",
        ["monday"],
        {"full": True},
    )
    assert stored.labels == {"queue": "low"}
    await created.unschedule()
    assert source.schedules == {}


async def test_kicker_labels_and_schedule_id_are_stored(broker: RecordingBroker) -> None:
    @broker.task
    async def ping() -> None: ...

    source = StoringSource()
    created = await (
        ping.kicker()
        .with_labels(priority=5)
        .with_schedule_id("nightly-ping")
        .schedule_by_interval(source, datetime.timedelta(minutes=5))
    )
    assert created.schedule_id == "nightly-ping"
    stored = source.schedules["nightly-ping"]
    assert stored.interval == datetime.timedelta(minutes=5)
    assert stored.labels == {"priority": 5}


async def test_cron_spec_and_cron_offset_label_set_the_zone(broker: RecordingBroker) -> None:
    @broker.task
    async def job() -> None: ...

    source = StoringSource()
    spec = CronSpec(minutes=30, hours=8, weekdays="1-5", offset="Europe/Paris")
    by_spec = await job.schedule_by_cron(source, spec)
    assert (by_spec.task.cron, by_spec.task.cron_offset) == ("30 8 * * 1-5", "Europe/Paris")

    by_label = await (
        job.kicker()
        .with_labels(cron_offset=datetime.timedelta(hours=2))
        .schedule_by_cron(source, "0 6 * * *")
    )
    assert by_label.task.cron_offset == datetime.timedelta(hours=2)
    assert "cron_offset" not in by_label.task.labels  # not sent to workers with each firing


@pytest.mark.parametrize(
    ("method", "trigger"),
    [
        ("schedule_by_cron", "not a cron"),
        ("schedule_by_cron", CronSpec(minutes=0, offset="Nowhere/Land")),
        ("schedule_by_interval", 0),
        ("schedule_by_interval", datetime.timedelta(seconds=-1)),
        ("schedule_by_interval", 0.5),
    ],
)
async def test_a_bad_trigger_is_refused_before_anything_is_stored(
    broker: RecordingBroker,
    method: str,
    trigger: object,
) -> None:
    @broker.task
    async def job() -> None: ...

    source = StoringSource()
    with pytest.raises(ScheduleError):
        await getattr(job, method)(source, trigger)
    assert source.schedules == {}


async def test_arguments_that_do_not_fit_the_task_are_refused(broker: RecordingBroker) -> None:
    @broker.task
    async def job(a: int) -> None: ...

    source = StoringSource()
    with pytest.raises(SendTaskError):
        await job.schedule_by_time(source, datetime.datetime(2030, 1, 1), 1, 2)  # type: ignore[call-arg]
    assert source.schedules == {}


async def test_a_read_only_source_refuses_run_time_schedules(broker: RecordingBroker) -> None:
    @broker.task
    async def job() -> None: ...

    with pytest.raises(NotImplementedError, match="read-only"):
        await job.schedule_by_interval(LabelScheduleSource(broker), 5)


async def test_created_schedule_kiq_sends_the_stored_call_now(broker: RecordingBroker) -> None:
    @broker.task
    async def job(x: int) -> None: ...

    created = await job.schedule_by_interval(StoringSource(), 60, 7)
    await created.kiq()
    assert [(m.task_name, m.args) for m in broker.sent] == [(job.task_name, [7])]


async def test_schedule_by_time_is_sent_by_a_running_scheduler_once_and_removed(
    broker: RecordingBroker,
) -> None:
    @broker.task
    async def remind(user: str) -> None: ...

    source = StoringSource()
    scheduler = TaskiqScheduler(broker, [source])
    running = asyncio.create_task(run_scheduler_task(scheduler, interval=0.1))
    try:
        when = datetime.datetime.now(tz=UTC) + datetime.timedelta(seconds=0.5)
        created = await remind.schedule_by_time(source, when, "ann")
        await wait_until(lambda: bool(broker.sent))
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert [(m.task_name, m.args) for m in broker.sent] == [(remind.task_name, ["ann"])]
    assert created.schedule_id not in source.schedules


async def test_an_unscheduled_interval_stops_firing(broker: RecordingBroker) -> None:
    @broker.task
    async def tick() -> None: ...

    source = StoringSource()
    scheduler = TaskiqScheduler(broker, [source])
    created = await tick.schedule_by_interval(source, 1)
    running = asyncio.create_task(run_scheduler_task(scheduler, interval=0.05))
    try:
        await wait_until(lambda: len(broker.sent) >= 2)
        await created.unschedule()
        reads = source.reads
        await wait_until(lambda: source.reads >= reads + 2)  # a full read after the delete
        count = len(broker.sent)
        await wait_until(lambda: source.reads >= reads + 30)  # over a period of 1 s
        assert len(broker.sent) == count
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_the_schedule_label_of_a_task_is_not_copied_into_run_time_schedules(
    broker: RecordingBroker,
) -> None:
    @broker.task(queue="low", schedule=[{"time": datetime.datetime(2030, 1, 1)}])
    async def job() -> None: ...

    created = await job.schedule_by_interval(StoringSource(), 60)
    assert created.task.labels == {"queue": "low"}
