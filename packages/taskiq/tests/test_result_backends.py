"""The in-memory and dummy result backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from taskiq import (
    DummyResultBackend,
    InmemoryResultBackend,
    NoResultError,
    TaskiqResult,
    TaskiqResultTimeoutError,
)
from taskiq.brokers.inmemory_broker import InmemoryResultBackend as DocumentedPath
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq.result_backends.inmemory import DEFAULT_MAX_STORED_RESULTS

DEADLINE = 20.0


def ok(value: Any) -> TaskiqResult[Any]:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.0)


async def test_stores_and_reads_results() -> None:
    backend = InmemoryResultBackend()
    assert not await backend.is_result_ready("a")
    with pytest.raises(NoResultError, match="No result is stored"):
        await backend.get_result("a")
    await backend.set_result("a", ok(1))
    assert await backend.is_result_ready("a")
    assert (await backend.get_result("a")).return_value == 1


async def test_oldest_results_are_evicted_with_a_clear_error() -> None:
    backend = InmemoryResultBackend(max_stored_results=2)
    for task_id in ("a", "b", "c"):
        await backend.set_result(task_id, ok(task_id))
    assert [r.return_value for r in [await backend.get_result(t) for t in ("b", "c")]] == ["b", "c"]
    assert await backend.is_result_ready("a"), "an evicted result must not leave waiters hanging"
    with pytest.raises(NoResultError, match=r"evicted.*max_stored_results"):
        await backend.get_result("a")


async def test_minus_one_keeps_every_result() -> None:
    backend = InmemoryResultBackend(max_stored_results=-1)
    for number in range(DEFAULT_MAX_STORED_RESULTS + 5):
        await backend.set_result(str(number), ok(number))
    assert (await backend.get_result("0")).return_value == 0


async def test_default_bound_is_documented_value() -> None:
    assert InmemoryResultBackend().max_stored_results == DEFAULT_MAX_STORED_RESULTS == 100


async def test_waiters_are_woken_when_the_result_is_stored() -> None:
    backend = InmemoryResultBackend()
    waiters = [
        asyncio.create_task(backend.wait_until_ready("w", check_interval=3600)) for _ in range(2)
    ]
    await asyncio.sleep(0)
    assert not any(waiter.done() for waiter in waiters)
    await backend.set_result("w", ok(5))
    # With a one-hour poll interval, only a pushed wake-up can finish these in time.
    await asyncio.wait_for(asyncio.gather(*waiters), DEADLINE)


async def test_wait_times_out_with_a_clear_error() -> None:
    backend = InmemoryResultBackend()
    with pytest.raises(TaskiqResultTimeoutError):
        await backend.wait_until_ready("never", timeout=0.01)


async def test_progress_is_stored_and_evicted_with_the_result() -> None:
    backend = InmemoryResultBackend(max_stored_results=1)
    progress: TaskProgress[Any] = TaskProgress(state=TaskState.STARTED, meta=1)
    await backend.set_progress("p", progress)
    assert await backend.get_progress("p") == progress
    await backend.set_result("p", ok(None))
    await backend.set_result("q", ok(None))
    assert await backend.get_progress("p") is None


async def test_dummy_backend_stores_nothing_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = DummyResultBackend()
    await backend.set_result("d", ok(1))
    assert await backend.is_result_ready("d")  # as in Taskiq: nothing to wait for
    result = await backend.get_result("d")
    assert (result.is_err, result.return_value) == (False, None)
    assert "with_result_backend" in caplog.text
    await backend.set_progress("d", TaskProgress(state=TaskState.STARTED))
    assert await backend.get_progress("d") is None


def test_documented_import_path() -> None:
    assert DocumentedPath is InmemoryResultBackend


async def test_waiters_that_give_up_leave_nothing_behind() -> None:
    backend = InmemoryResultBackend()
    for _ in range(3):
        with pytest.raises(TaskiqResultTimeoutError):
            await backend.wait_until_ready("never", timeout=0.001)
    assert backend._waiters == {}
    assert backend._waiting == {}
