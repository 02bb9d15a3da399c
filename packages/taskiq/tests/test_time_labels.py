"""The ``delay`` and ``timeout`` bounds: refused when sent, harmless when received."""

from __future__ import annotations

import asyncio
import logging
import signal

import pytest
from taskiq import InMemoryBroker, SendTaskError, TaskiqMessage
from taskiq.time_labels import (
    MAX_DELAY,
    MAX_TIMEOUT,
    check_time_labels,
    received_delay,
    received_timeout,
    sent_delay,
)
from worker_harness import Harness

ABSURD = [-1, "-0.5", "soon", "nan", float("nan"), float("inf"), "-inf", 1e300, True, [1]]


def test_the_bounds_are_ten_years() -> None:
    assert MAX_DELAY == MAX_TIMEOUT == 315_360_000


@pytest.mark.parametrize("delay", [0, "0", 0.5, "2.5", MAX_DELAY, None, ""])
def test_delays_in_bounds_are_sent(delay: object) -> None:
    check_time_labels({"delay": delay})
    expected = 0.0 if delay is None or delay == "" else float(delay)  # type: ignore[arg-type]
    assert sent_delay({"delay": delay}) == expected


@pytest.mark.parametrize("delay", [*ABSURD, MAX_DELAY + 1])
def test_absurd_delays_are_refused_naming_the_label_and_the_bounds(delay: object) -> None:
    bounds = r"Label 'delay' is .* from 0 to 315360000 \(ten years\)"
    with pytest.raises(SendTaskError, match=bounds):
        check_time_labels({"delay": delay})
    with pytest.raises(SendTaskError, match="Label 'delay'"):
        sent_delay({"delay": delay})


@pytest.mark.parametrize("timeout", [*ABSURD, 0, "0", MAX_TIMEOUT * 2])
def test_absurd_timeouts_are_refused(timeout: object) -> None:
    with pytest.raises(SendTaskError, match=r"Label 'timeout' is .* above 0 and at most 315360000"):
        check_time_labels({"timeout": timeout})


async def test_kiq_refuses_an_absurd_delay_and_sends_nothing() -> None:
    broker = InMemoryBroker()
    ran: list[int] = []

    @broker.task
    async def job() -> None:
        ran.append(1)

    with pytest.raises(SendTaskError, match="Label 'delay' is 1e\\+300"):
        await job.kicker().with_labels(delay=1e300).kiq()
    with pytest.raises(SendTaskError, match="Label 'timeout'"):
        await broker.task(timeout=float("nan"))(lambda: None).kiq()
    await broker.wait_all()
    assert ran == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 0.0), (3, 3.0), ("soon", 0.0), ("nan", 0.0), (-5, 0.0), (1e300, MAX_DELAY)],
)
def test_received_delays_are_ignored_or_capped(raw: object, expected: float) -> None:
    assert received_delay({"delay": raw}, "app:job") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), (3, 3.0), ("soon", None), ("nan", None), (0, None), ("inf", MAX_TIMEOUT)],
)
def test_received_timeouts_are_ignored_or_capped(raw: object, expected: float | None) -> None:
    assert received_timeout({"timeout": raw}, "app:job") == expected


async def test_in_memory_kick_of_a_forged_delay_runs_the_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="job")
    async def job() -> int:
        return 1

    forged = TaskiqMessage(task_id="forged", task_name="job", labels={"delay": "nan"})
    with caplog.at_level(logging.WARNING, logger="taskiq.labels"):
        await broker.kick(broker.formatter.dumps(forged))
        await asyncio.wait_for(broker.wait_all(), 20)
    assert (await broker.result_backend.get_result("forged")).return_value == 1
    assert "Task job: ignoring the delay label 'nan'; running it now." in caplog.text


async def test_a_worker_runs_forged_time_labels_and_logs_why(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    for index, labels in enumerate(
        [{"timeout": "nan"}, {"timeout": 1e300}, {"timeout": -1}, {"delay": "soon"}],
    ):
        forged = TaskiqMessage(
            task_id=f"forged-{index}", task_name="app:record", labels=labels, args=[f"f{index}"]
        )
        await harness.broker.kick(harness.broker.formatter.dumps(forged))
    done = await harness.wait_items("done", 4)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
    assert sorted(item.split(":")[0] for item in done) == ["f0", "f1", "f2", "f3"]
    log = worker.log()
    assert "Task app:record: ignoring the timeout label 'nan'" in log
    assert "Task app:record: the timeout label 1e+300 is past the 315360000 s bound" in log
    assert log.count("Started worker-0") == 1
    assert "Traceback" not in log
