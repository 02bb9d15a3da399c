"""Replicas, overlap and catch-up in one process: runners sharing one in-memory backend.

Two `ScheduleRunner` objects on one `InMemoryBroker` share its claim store and
task states exactly as two processes share Redis; the real-process version is
`test_scheduler_replicas.py`.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable

import pytest
from taskiq import InMemoryBroker, TaskiqScheduler
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.scheduler.fires import fire_task_id
from taskiq.scheduler.next_fire import interval_fire_after, utc_now
from taskiq.scheduler.runner import ScheduleRunner
from taskiq.scheduler.scheduled_task import ScheduledTask


class ListSource(ScheduleSource):
    def __init__(self, *tasks: ScheduledTask) -> None:
        self.tasks = list(tasks)

    async def get_schedules(self) -> list[ScheduledTask]:
        return list(self.tasks)


class Runs:
    """What the workers of an `InMemoryBroker` ran: (wall time, task id) per start."""

    def __init__(self, broker: InMemoryBroker, seconds: float = 0.0) -> None:
        self.started: list[tuple[float, str]] = []

        @broker.task(task_name="job")
        async def job(context_id: str = "") -> None:
            await asyncio.sleep(seconds)

        self.job = job

    def note(self, broker: InMemoryBroker) -> None:
        original = broker.kick

        async def kick(message: object) -> None:
            task_id = broker.formatter.loads(message.message).task_id  # type: ignore[attr-defined]
            self.started.append((time.time(), task_id))
            await original(message)  # type: ignore[arg-type]

        broker.kick = kick  # type: ignore[method-assign]


async def run_runners(
    runners: list[ScheduleRunner], until: Callable[[], bool], limit: float
) -> None:
    tasks = [asyncio.create_task(r.run()) for r in runners]
    deadline = time.monotonic() + limit
    try:
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met within the deadline")
            await asyncio.sleep(0.02)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def broker() -> InMemoryBroker:
    broker = InMemoryBroker()
    await broker.startup()
    return broker


async def test_two_runners_send_each_fire_once_with_its_derived_task_id(
    broker: InMemoryBroker,
) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(task_name="job", interval=1, schedule_id="every-second")
    scheduler = TaskiqScheduler(broker, [ListSource(task)])
    runners = [ScheduleRunner(scheduler, update_interval=0.5) for _ in range(2)]
    await run_runners(runners, lambda: len(runs.started) >= 4, limit=15)
    ids = [task_id for _, task_id in runs.started]
    assert len(ids) == len(set(ids))
    for sent_at, task_id in runs.started[1:]:
        fire = datetime.datetime.fromtimestamp(round(sent_at), tz=datetime.timezone.utc)
        assert task_id == fire_task_id(task, fire)
        assert abs(sent_at - round(sent_at)) < 0.1  # within 100 ms of its second


async def test_a_fire_claimed_by_a_dead_replica_is_resent_with_the_same_id(
    broker: InMemoryBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(task_name="job", interval=1, schedule_id="orphan")
    scheduler = TaskiqScheduler(broker, [ListSource(task)])
    runner = ScheduleRunner(scheduler, update_interval=5, skip_first_run=True)
    runner.guard.resend_grace = 0.3
    # A replica that died right after claiming the next fire, before sending it.
    fire = interval_fire_after(datetime.timedelta(seconds=1), utc_now())
    if (fire - utc_now()).total_seconds() < 0.2:  # too close: take the one after
        fire += datetime.timedelta(seconds=1)
    key = f"taskiq:schedule:orphan:fire:{fire.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
    await broker.result_backend.claim_store().claim(key, "dead-replica", 60)  # type: ignore[attr-defined]
    orphan_id = fire_task_id(task, fire)
    await run_runners([runner], lambda: orphan_id in [i for _, i in runs.started], limit=10)
    assert "never sent it; sending it now" in caplog.text
    assert [i for _, i in runs.started].count(orphan_id) == 1


async def test_skip_drops_fires_while_the_previous_run_is_active(
    broker: InMemoryBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="taskiq.scheduler")
    runs = Runs(broker, seconds=2.5)
    runs.note(broker)
    task = ScheduledTask(task_name="job", interval=1, overlap="skip", schedule_id="slow")
    runner = ScheduleRunner(TaskiqScheduler(broker, [ListSource(task)]), update_interval=1)
    started = time.time()
    await run_runners([runner], lambda: time.time() - started > 5.2, limit=10)
    gaps = [b - a for (a, _), (b, _) in zip(runs.started, runs.started[1:], strict=False)]
    assert 2 <= len(runs.started) <= 3
    assert all(gap > 2.4 for gap in gaps)  # never while the 2.5 s run was active
    assert "its previous run is still active (overlap=skip)" in caplog.text


async def test_catchup_all_sends_what_was_missed_while_down_and_nothing_twice(
    broker: InMemoryBroker,
) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(
        task_name="job", interval=1, catchup="all", catchup_window=30, schedule_id="cu"
    )
    scheduler = TaskiqScheduler(broker, [ListSource(task)])
    await run_runners([ScheduleRunner(scheduler)], lambda: len(runs.started) >= 2, limit=10)
    before = len(runs.started)
    await asyncio.sleep(3.2)  # the scheduler is down for three fires
    resumed = time.time()
    await run_runners(
        [ScheduleRunner(scheduler)],
        lambda: len(runs.started) >= before + 3,
        limit=10,
    )
    caught_up = [at for at, _ in runs.started[before:] if at - resumed < 0.5]
    assert len(caught_up) >= 3  # sent at once on start-up, not at their (past) seconds
    ids = [i for _, i in runs.started]
    assert len(ids) == len(set(ids))


async def test_catchup_none_sends_only_the_current_fire_after_downtime(
    broker: InMemoryBroker,
) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(task_name="job", interval=1, schedule_id="no-cu")
    scheduler = TaskiqScheduler(broker, [ListSource(task)])
    await run_runners([ScheduleRunner(scheduler)], lambda: len(runs.started) >= 1, limit=10)
    await asyncio.sleep(3.2)
    before, resumed = len(runs.started), time.time()
    await run_runners([ScheduleRunner(scheduler)], lambda: time.time() - resumed > 0.5, limit=5)
    missed = {
        fire_task_id(task, datetime.datetime.fromtimestamp(second, tz=datetime.timezone.utc))
        for second in range(int(resumed) - 3, int(resumed))
    }
    assert not missed & {task_id for _, task_id in runs.started[before:]}


async def test_a_paused_schedule_is_listed_but_never_sent(broker: InMemoryBroker) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(task_name="job", interval=1, paused=True)
    runner = ScheduleRunner(TaskiqScheduler(broker, [ListSource(task)]), update_interval=0.5)
    started = time.time()
    await run_runners([runner], lambda: time.time() - started > 2.2, limit=5)
    assert runs.started == []
    assert task.schedule_id in runner.upcoming()


async def test_six_field_cron_fires_on_its_seconds(broker: InMemoryBroker) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(task_name="job", cron="*/2 * * * * *")
    runner = ScheduleRunner(TaskiqScheduler(broker, [ListSource(task)]), skip_first_run=True)
    await run_runners([runner], lambda: len(runs.started) >= 2, limit=10)
    for sent_at, _ in runs.started:
        assert round(sent_at) % 2 == 0
        assert abs(sent_at - round(sent_at)) < 0.1


async def test_buffer_one_sends_one_held_fire_when_the_previous_run_ends(
    broker: InMemoryBroker,
) -> None:
    runs = Runs(broker, seconds=2.5)
    runs.note(broker)
    task = ScheduledTask(task_name="job", interval=1, overlap="buffer_one", schedule_id="buf")
    runner = ScheduleRunner(TaskiqScheduler(broker, [ListSource(task)]), update_interval=1)
    await run_runners([runner], lambda: len(runs.started) >= 2, limit=10)
    (first, _), (second, _) = runs.started[:2]
    assert 2.4 < second - first < 3.3  # held, then sent once the 2.5 s run ended


async def test_catchup_latest_sends_one_and_logs_the_fires_older_than_the_window(
    broker: InMemoryBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = Runs(broker)
    runs.note(broker)
    task = ScheduledTask(
        task_name="job", interval=1, catchup="latest", catchup_window=2, schedule_id="lt"
    )
    scheduler = TaskiqScheduler(broker, [ListSource(task)])
    await run_runners([ScheduleRunner(scheduler)], lambda: len(runs.started) >= 2, limit=10)
    await asyncio.sleep(5.2)  # down for five fires, three of them older than the window
    before, resumed = len(runs.started), time.time()
    await run_runners([ScheduleRunner(scheduler)], lambda: time.time() - resumed > 0.3, limit=5)

    def fire_id(second: int) -> str:
        return fire_task_id(task, datetime.datetime.fromtimestamp(second, datetime.timezone.utc))

    after = [task_id for _, task_id in runs.started[before:]]
    assert after.count(fire_id(int(resumed))) == 1  # the latest fire, at once
    assert not {fire_id(s) for s in range(int(resumed) - 4, int(resumed))} & set(after)
    assert "older than its catchup_window" in caplog.text
