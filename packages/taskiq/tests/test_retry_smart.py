"""SmartRetryMiddleware: delay arithmetic, delivery paths, and end-to-end retries."""

from __future__ import annotations

import datetime
import random
import time
from typing import Any

import pytest
from taskiq import (
    InMemoryBroker,
    ScheduleSource,
    SmartRetryMiddleware,
    TaskiqMessage,
    TaskiqMiddleware,
)
from taskiq.message import BrokerMessage
from taskiq.middlewares.backoff import retry_delay
from taskiq.scheduler.scheduled_task import ScheduledTask

# -- delay arithmetic ---------------------------------------------------------


def test_fixed_delay_is_the_base_every_time() -> None:
    assert [retry_delay(5, n) for n in (1, 2, 7)] == [5, 5, 5]


def test_exponential_delay_doubles_and_stops_at_the_cap() -> None:
    delays = [retry_delay(1.5, n, exponential=True, cap=10) for n in range(1, 6)]
    assert delays == [1.5, 3.0, 6.0, 10.0, 10.0]


def test_exponential_delay_survives_huge_retry_numbers() -> None:
    assert retry_delay(1, 10_000, exponential=True, cap=60) == 60


def test_jitter_stays_between_half_and_full_delay_and_is_reproducible() -> None:
    draws = [retry_delay(8, 1, jitter=True, rng=random.Random(seed)) for seed in range(50)]
    assert all(4 <= draw <= 8 for draw in draws)
    assert len(set(draws)) > 1
    expected = random.Random(3).uniform(4, 8)
    assert retry_delay(8, 1, jitter=True, rng=random.Random(3)) == expected


def test_jitter_never_exceeds_the_cap() -> None:
    draws = [
        retry_delay(10, 5, exponential=True, cap=30, jitter=True, rng=random.Random(seed))
        for seed in range(50)
    ]
    assert all(15 <= draw <= 30 for draw in draws)


def test_negative_inputs_give_zero_delay() -> None:
    assert retry_delay(-3, 2, exponential=True, cap=-1) == 0


def test_make_delay_reads_the_task_delay_label_and_ignores_garbage() -> None:
    middleware = SmartRetryMiddleware(default_delay=2, use_delay_exponent=True)
    message = TaskiqMessage(task_id="t", task_name="n", labels={"delay": "3"})
    assert middleware.make_delay(message, 3) == 12
    garbage = TaskiqMessage(task_id="t", task_name="n", labels={"delay": "soon"})
    assert middleware.make_delay(garbage, 1) == 2


def test_retry_delay_label_wins_over_delay_and_the_default() -> None:
    middleware = SmartRetryMiddleware(default_delay=2)
    message = TaskiqMessage(
        task_id="t",
        task_name="n",
        labels={"delay": 3, "retry_delay": "0.5"},
    )
    assert middleware.make_delay(message, 1) == 0.5


def test_schedule_source_must_be_a_schedule_source() -> None:
    with pytest.raises(TypeError, match="ScheduleSource"):
        SmartRetryMiddleware(schedule_source="redis://")  # type: ignore[arg-type]


# -- delivery -----------------------------------------------------------------


async def test_retries_after_the_delay_on_a_broker_without_delays() -> None:
    broker = InMemoryBroker().with_middlewares(SmartRetryMiddleware(default_delay=0.2))
    started: list[float] = []

    @broker.task(retry_on_error=True)
    async def flaky() -> str:
        started.append(time.monotonic())
        if len(started) == 1:
            raise ConnectionError("first attempt fails")
        return "ok"

    await broker.startup()
    result = await (await flaky.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == "ok"
    assert started[1] - started[0] >= 0.2


class DelayingBroker(InMemoryBroker):
    """Declares delayed delivery and records the labels it was asked to delay by."""

    supports_delayed_delivery = True

    def __init__(self) -> None:
        super().__init__()
        self.kicked: list[dict[str, Any]] = []

    async def kick(self, message: BrokerMessage) -> None:
        self.kicked.append(dict(message.labels))
        await super().kick(message)


async def test_broker_with_delays_gets_the_delay_label_with_backoff_from_the_base() -> None:
    broker = DelayingBroker()
    broker.add_middlewares(SmartRetryMiddleware(use_delay_exponent=True, max_delay_exponent=60))

    @broker.task(retry_on_error=True, max_retries=4, delay=0.05)
    async def fails() -> None:
        raise ValueError

    await broker.startup()
    result = await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert isinstance(result.error, ValueError)
    retries = broker.kicked[1:]
    assert [float(labels["delay"]) for labels in retries] == [0.05, 0.1, 0.2]
    assert [int(labels["_retries"]) for labels in retries] == [1, 2, 3]


class RecordingBroker(InMemoryBroker):
    """Records the labels of every kick; declares no delayed delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.kicked: list[dict[str, Any]] = []

    async def kick(self, message: BrokerMessage) -> None:
        self.kicked.append(dict(message.labels))
        await super().kick(message)


async def test_local_timer_retry_does_not_carry_the_delay_label_twice() -> None:
    broker = RecordingBroker()
    broker.add_middlewares(SmartRetryMiddleware())

    @broker.task(retry_on_error=True, max_retries=2)
    async def fails() -> None:
        raise ValueError

    await broker.startup()
    kicker = fails.kicker().with_labels(delay=0.05)
    await (await kicker.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    [retry] = broker.kicked[1:]
    assert "delay" not in retry
    assert float(retry["_retry_base_delay"]) == 0.05


class MemorySource(ScheduleSource):
    """A schedule source that keeps schedules in a list."""

    def __init__(self) -> None:
        self.schedules: list[ScheduledTask] = []

    async def get_schedules(self) -> list[ScheduledTask]:
        return list(self.schedules)

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        self.schedules.append(schedule)


async def test_schedule_source_receives_a_one_off_schedule_at_now_plus_delay() -> None:
    source = MemorySource()
    broker = InMemoryBroker().with_middlewares(
        SmartRetryMiddleware(default_delay=30, schedule_source=source),
    )

    @broker.task(retry_on_error=True)
    async def fails(x: int, *, y: str) -> None:
        raise ValueError

    await broker.startup()
    before = datetime.datetime.now(datetime.timezone.utc)
    task = await fails.kiq(1, y="z")
    await broker.wait_all()
    after = datetime.datetime.now(datetime.timezone.utc)
    await broker.shutdown()

    [schedule] = source.schedules
    assert schedule.task_name == fails.task_name
    assert (schedule.args, schedule.kwargs) == ([1], {"y": "z"})
    assert int(schedule.labels["_retries"]) == 1
    assert schedule.time is not None
    delay = datetime.timedelta(seconds=30)
    assert before + delay <= schedule.time <= after + delay
    assert not await task.is_ready()  # the failed attempt stored no result


async def test_exception_filter_applies_to_smart_retries() -> None:
    source = MemorySource()
    broker = InMemoryBroker().with_middlewares(
        SmartRetryMiddleware(schedule_source=source, types_of_exceptions=(TimeoutError,)),
    )

    @broker.task(retry_on_error=True)
    async def fails() -> None:
        raise KeyError("not retried")

    await broker.startup()
    result = await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert isinstance(result.error, KeyError)
    assert source.schedules == []


async def test_pending_local_retries_are_sent_early_on_shutdown() -> None:
    middleware = SmartRetryMiddleware(default_delay=3600)
    broker = InMemoryBroker().with_middlewares(middleware)
    attempts: list[int] = []

    @broker.task(retry_on_error=True)
    async def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError
        return len(attempts)

    await broker.startup()
    task = await flaky.kiq()
    await broker.wait_all()  # the first attempt failed and armed a one-hour timer
    assert middleware.pending_retries == 1
    await middleware.shutdown()
    result = await task.wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == 2


async def test_timed_retry_that_cannot_be_sent_stores_the_failure_it_hid() -> None:
    class RefuseRetries(TaskiqMiddleware):
        def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
            if "_retries" in message.labels:
                raise ConnectionError("broker is down")
            return message

    broker = InMemoryBroker().with_middlewares(
        SmartRetryMiddleware(default_delay=0.01),
        RefuseRetries(),
    )

    @broker.task(retry_on_error=True)
    async def fails() -> None:
        raise ValueError("the original failure")

    await broker.startup()
    result = await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert isinstance(result.error, ValueError)
    assert str(result.error) == "the original failure"
