"""ScheduledTask and CronSpec as storing sources use them: validation and JSON round trips."""

from __future__ import annotations

import datetime

import pytest
from pydantic import ValidationError
from taskiq import ScheduledTask
from taskiq.scheduler.scheduled_task import CronSpec

PARIS_2H = datetime.timezone(datetime.timedelta(hours=2))


@pytest.mark.parametrize(
    "trigger",
    [
        {"cron": "*/5 * * * *", "cron_offset": "Europe/Paris"},
        {"cron": "*/5 * * * *", "cron_offset": "PST8PDT"},
        {"cron": "0 9 * * *", "cron_offset": datetime.timedelta(hours=-3, minutes=-30)},
        {"cron": "0 9 * * *", "cron_offset": datetime.timedelta(seconds=90.5)},
        {"time": datetime.datetime(2030, 1, 1, 12, tzinfo=PARIS_2H)},
        {"time": datetime.datetime(2030, 1, 1, 12)},
        {"interval": 10},
        {"interval": 2.5},
        {"interval": datetime.timedelta(minutes=5)},
    ],
)
def test_json_round_trip_keeps_the_trigger(trigger: dict[str, object]) -> None:
    task = ScheduledTask(
        task_name="app:job",
        labels={"priority": 1},
        args=[1, "two"],
        kwargs={"three": 3.0},
        **trigger,  # type: ignore[arg-type]
    )
    assert ScheduledTask.model_validate_json(task.model_dump_json()) == task
    assert ScheduledTask.model_validate(task.model_dump(mode="json")) == task


@pytest.mark.parametrize(
    "triggers",
    [
        {},
        {"cron": "* * * * *", "interval": 5},
        {"time": datetime.datetime(2030, 1, 1), "interval": 1},
    ],
)
def test_exactly_one_trigger_is_required(triggers: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="exactly one of cron=, time= or interval="):
        ScheduledTask(task_name="app:job", **triggers)  # type: ignore[arg-type]


def test_each_schedule_gets_its_own_id_by_default() -> None:
    first = ScheduledTask(task_name="app:job", interval=1)
    second = ScheduledTask(task_name="app:job", interval=1)
    assert first.schedule_id != second.schedule_id


def test_cron_spec_builds_a_five_field_expression() -> None:
    assert CronSpec().to_cron() == "* * * * *"
    assert CronSpec(minutes=0, hours="9-17", weekdays="1-5").to_cron() == "0 9-17 * * 1-5"
