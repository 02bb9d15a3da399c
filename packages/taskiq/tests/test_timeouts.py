"""The ``timeout`` label: async tasks are cancelled, sync tasks report the timeout."""

from __future__ import annotations

import asyncio
import threading

import pytest
from taskiq import InMemoryBroker, TaskiqMessage
from taskiq.exceptions import SendTaskError, TaskTimeoutError

DEADLINE = 20.0


async def test_async_task_past_its_timeout_is_cancelled() -> None:
    broker = InMemoryBroker()
    cleaned_up = asyncio.Event()

    @broker.task(timeout=0.05)
    async def slow() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.set()

    result = await (await slow.kiq()).wait_result(timeout=DEADLINE)
    assert result.is_err
    assert isinstance(result.error, TaskTimeoutError)
    assert isinstance(result.error, TimeoutError)
    assert "0.05" in str(result.error)
    assert cleaned_up.is_set()


async def test_timeout_label_may_be_a_string_set_per_call() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def slow() -> None:
        await asyncio.Event().wait()

    handle = await slow.kicker().with_labels(timeout="0.05").kiq()
    result = await handle.wait_result(timeout=DEADLINE)
    assert isinstance(result.error, TaskTimeoutError)


async def test_sync_task_result_reports_the_timeout_while_the_thread_finishes() -> None:
    broker = InMemoryBroker()
    release = threading.Event()
    finished = threading.Event()

    @broker.task(timeout=0.05)
    def blocking() -> str:
        release.wait(DEADLINE)
        finished.set()
        return "too late"

    result = await (await blocking.kiq()).wait_result(timeout=DEADLINE)
    assert isinstance(result.error, TaskTimeoutError)
    assert not finished.is_set(), "Python cannot stop a thread: it is still running"
    release.set()
    await asyncio.get_running_loop().run_in_executor(None, finished.wait, DEADLINE)
    await broker.shutdown()


async def test_task_within_its_timeout_returns_normally() -> None:
    broker = InMemoryBroker()

    @broker.task(timeout=DEADLINE)
    async def quick() -> int:
        return 1

    assert (await (await quick.kiq()).wait_result(timeout=DEADLINE)).return_value == 1


async def test_a_task_raising_timeout_error_itself_keeps_its_error() -> None:
    broker = InMemoryBroker()

    @broker.task(timeout=DEADLINE)
    async def own() -> None:
        raise TimeoutError("upstream service timed out")

    result = await (await own.kiq()).wait_result(timeout=DEADLINE)
    assert type(result.error) is TimeoutError
    assert str(result.error) == "upstream service timed out"


UNUSABLE_TIMEOUTS = ("soon", 0, -1, "nan", float("inf"), 1e300, True)


async def test_unusable_timeout_labels_are_refused_at_kiq() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def quick() -> int:
        return 2

    for label in UNUSABLE_TIMEOUTS:
        with pytest.raises(SendTaskError, match=r"Label 'timeout' is .*above 0 and at most"):
            await quick.kicker().with_labels(timeout=label).kiq()
    handle = await quick.kicker().with_labels(timeout="").kiq()
    assert (await handle.wait_result(timeout=DEADLINE)).return_value == 2


async def test_received_unusable_timeouts_mean_no_timeout_and_huge_ones_are_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="quick")
    async def quick() -> int:
        await asyncio.sleep(0.01)
        return 2

    for index, label in enumerate(UNUSABLE_TIMEOUTS):
        labels = {"timeout": label}
        forged = TaskiqMessage(task_id=f"forged-{index}", task_name="quick", labels=labels)
        await broker.kick(broker.formatter.dumps(forged))  # as another client would send it
        await broker.wait_all()
        result = await broker.result_backend.get_result(f"forged-{index}")
        assert (result.is_err, result.return_value) == (False, 2), label
    assert "Task quick: ignoring the timeout label 'soon'" in caplog.text
    assert "Task quick: the timeout label 1e+300 is past the 315360000 s bound" in caplog.text
