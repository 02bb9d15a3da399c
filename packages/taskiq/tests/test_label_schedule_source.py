"""LabelScheduleSource: schedules declared with ``@broker.task(schedule=[...])``."""

from __future__ import annotations

import datetime
import logging

import pytest
from taskiq import InMemoryBroker, ScheduledTask
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.schedule_sources.label_based import LabelScheduleSource as FromModule


async def test_reads_every_entry_with_its_trigger_arguments_and_labels() -> None:
    broker = InMemoryBroker()
    paris = "Europe/Paris"

    @broker.task(
        task_name="report",
        queue="reports",
        schedule=[
            {
                "cron": "*/5 * * * *",
                "cron_offset": paris,
                "args": [1],
                "labels": {"queue": "x", "priority": 3},
            },
            {"interval": 10, "kwargs": {"full": True}, "schedule_id": "every-ten"},
            {"time": datetime.datetime(2030, 1, 1, 9)},
        ],
    )
    async def report(n: int = 0, full: bool = False) -> None: ...

    schedules = await LabelScheduleSource(broker).get_schedules()
    by_trigger = {
        ("cron" if s.cron else "interval" if s.interval else "time"): s for s in schedules
    }
    cron, interval, once = by_trigger["cron"], by_trigger["interval"], by_trigger["time"]
    assert (cron.task_name, cron.cron, cron.cron_offset, cron.args) == (
        "report",
        "*/5 * * * *",
        paris,
        [1],
    )
    # The task's own labels win over the entry's, as in Taskiq; "schedule" is not sent.
    assert cron.labels == {"queue": "reports", "priority": 3}
    assert (interval.interval, interval.kwargs, interval.schedule_id) == (
        10,
        {"full": True},
        "every-ten",
    )
    assert interval.labels == {"queue": "reports"}
    assert once.time == datetime.datetime(2030, 1, 1, 9)


async def test_schedule_ids_are_stable_across_reads_and_source_instances() -> None:
    broker = InMemoryBroker()

    @broker.task(schedule=[{"cron": "* * * * *"}, {"cron": "0 * * * *"}])
    async def job() -> None: ...

    first = [s.schedule_id for s in await LabelScheduleSource(broker).get_schedules()]
    again = [s.schedule_id for s in await LabelScheduleSource(broker).get_schedules()]
    assert first == again
    assert len(set(first)) == 2


async def test_a_fired_one_off_is_removed_but_recurring_ones_stay() -> None:
    broker = InMemoryBroker()

    @broker.task(schedule=[{"time": datetime.datetime(2030, 1, 1)}, {"interval": 5}])
    async def job() -> None: ...

    source = LabelScheduleSource(broker)
    once, every = sorted(await source.get_schedules(), key=lambda s: s.time is None)
    await source.post_send(every)
    await source.post_send(once)
    assert [s.schedule_id for s in await source.get_schedules()] == [every.schedule_id]


async def test_tasks_registered_after_the_source_was_created_are_picked_up() -> None:
    broker = InMemoryBroker()
    source = LabelScheduleSource(broker)
    assert await source.get_schedules() == []

    @broker.task(schedule=[{"interval": 1}])
    async def late() -> None: ...

    assert [s.task_name for s in await source.get_schedules()] == [late.task_name]


async def test_a_single_dict_is_accepted_as_one_entry() -> None:
    broker = InMemoryBroker()

    @broker.task(schedule={"cron": "* * * * *"})
    async def job() -> None: ...

    assert [s.cron for s in await LabelScheduleSource(broker).get_schedules()] == ["* * * * *"]


@pytest.mark.parametrize(
    "bad_entry",
    [
        {"args": [1]},  # no trigger at all
        {"cron": "* * * * *", "interval": 5},  # two triggers
        {"time": "not a time"},
        {"interval": 5, "labels": "not a dict"},
        "every minute",
    ],
)
async def test_a_malformed_entry_is_logged_once_and_the_others_still_load(
    bad_entry: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="mixed", schedule=[bad_entry, {"interval": 5}])
    async def job() -> None: ...

    source = LabelScheduleSource(broker)
    for _ in range(3):
        schedules = await source.get_schedules()
        assert [s.interval for s in schedules] == [5]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "mixed#0" in errors[0].getMessage()


async def test_a_schedule_label_that_is_not_a_list_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="odd", schedule="*/5 * * * *")
    async def job() -> None: ...

    assert await LabelScheduleSource(broker).get_schedules() == []
    assert "must be a list" in caplog.text


async def test_the_label_source_is_read_only() -> None:
    source = LabelScheduleSource(InMemoryBroker())
    with pytest.raises(NotImplementedError, match="read-only"):
        await source.add_schedule(ScheduledTask(task_name="x", interval=1))
    assert FromModule is LabelScheduleSource
