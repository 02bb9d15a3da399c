"""The ``timeout`` label: async tasks are cancelled, sync tasks report the timeout."""

from __future__ import annotations

import asyncio
import threading

from taskiq import InMemoryBroker
from taskiq.exceptions import TaskTimeoutError

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


async def test_unusable_timeout_labels_mean_no_timeout() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def quick() -> int:
        await asyncio.sleep(0.01)
        return 2

    for label in ("soon", "", 0, -1):
        handle = await quick.kicker().with_labels(timeout=label).kiq()
        assert (await handle.wait_result(timeout=DEADLINE)).return_value == 2
