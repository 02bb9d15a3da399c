"""Schedules refused with a clear error: sub-second intervals, bad cron, bad policies."""

from __future__ import annotations

import asyncio
import datetime

import pytest
from pydantic import ValidationError
from taskiq.exceptions import ScheduleError
from taskiq.scheduler.next_fire import cron_fire_after, fires_between, interval_fire_after
from taskiq.scheduler.scheduled_task import ScheduledTask

UTC = datetime.timezone.utc
NOON = datetime.datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_six_field_cron_puts_seconds_first() -> None:
    assert cron_fire_after("*/5 * * * * *", None, NOON) == NOON + datetime.timedelta(seconds=5)
    assert cron_fire_after("30 0 12 * * *", None, NOON) == NOON + datetime.timedelta(seconds=30)


def test_five_field_cron_still_means_minutes() -> None:
    assert cron_fire_after("*/5 * * * *", None, NOON) == NOON + datetime.timedelta(minutes=5)


@pytest.mark.parametrize("cron", ["* * * *", "* * * * * * *", "61 * * * * *"])
def test_a_cron_with_the_wrong_fields_is_refused(cron: str) -> None:
    with pytest.raises(ScheduleError, match=r"six\s+with seconds first"):
        cron_fire_after(cron, None, NOON)


@pytest.mark.parametrize("interval", [0.5, 0.999, datetime.timedelta(milliseconds=200)])
def test_a_sub_second_interval_is_refused(interval: float | datetime.timedelta) -> None:
    with pytest.raises(ValidationError, match="interval must be at least 1 second"):
        ScheduledTask(task_name="t", interval=interval)


def test_intervals_are_aligned_on_the_epoch_so_replicas_agree() -> None:
    period = datetime.timedelta(seconds=7)
    fire = interval_fire_after(period, NOON)
    assert (fire - datetime.datetime(1970, 1, 1, tzinfo=UTC)) % period == datetime.timedelta(0)
    assert NOON < fire <= NOON + period


def test_fires_between_keeps_the_most_recent_within_the_limit() -> None:
    task = ScheduledTask(task_name="t", interval=10)
    fires = fires_between(task, NOON, NOON + datetime.timedelta(seconds=60), limit=2)
    assert fires == [NOON + datetime.timedelta(seconds=50), NOON + datetime.timedelta(seconds=60)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("overlap", "queue", "allow"),
        ("catchup", "everything", "latest"),
        ("catchup_window", -5, "catchup_window must be a positive"),
    ],
)
def test_a_bad_policy_is_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScheduledTask(task_name="t", cron="* * * * *", **{field: value})  # type: ignore[arg-type]


def test_policies_round_trip_through_json() -> None:
    task = ScheduledTask(
        task_name="t",
        interval=60,
        overlap="buffer_one",
        catchup="all",
        catchup_window=datetime.timedelta(minutes=10),
        paused=True,
    )
    again = ScheduledTask.model_validate_json(task.model_dump_json())
    assert again == task
    assert again.catchup_window == 600.0


async def test_the_in_memory_claim_store_forgets_expired_fire_claims() -> None:
    from taskiq.result_backends.inmemory_claims import InmemoryClaimStore

    store = InmemoryClaimStore()
    for n in range(3000):  # one claim per fire, never touched again
        await store.claim(f"fire-{n}", "replica", 0.001)
    await asyncio.sleep(0.01)
    for n in range(1100):
        await store.claim(f"later-{n}", "replica", 60)
    assert len(store._claims) <= 1100 + InmemoryClaimStore._SWEEP_EVERY
