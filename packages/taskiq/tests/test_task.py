"""AsyncTaskiqTask: the handle kiq() returns, on the in-memory broker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq import (
    AsyncResultBackend,
    AsyncTaskiqTask,
    InMemoryBroker,
    InmemoryResultBackend,
    NoResultError,
    ResultGetError,
    SecurityError,
    TaskiqResult,
    TaskiqResultTimeoutError,
    TaskProgress,
    TaskState,
)

DEADLINE = 20.0


@pytest.fixture
async def broker() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker()
    await broker.startup()
    yield broker
    await broker.shutdown()


async def until(condition: Any) -> None:
    """Poll an async condition until it holds or the deadline passes."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not await condition():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.01)


async def test_is_ready_and_get_result_follow_the_task(broker: InMemoryBroker) -> None:
    release = asyncio.Event()

    @broker.task
    async def gated() -> str:
        await release.wait()
        return "done"

    sent = await gated.kiq()
    assert await sent.is_ready() is False
    with pytest.raises(NoResultError, match=sent.task_id):
        await sent.get_result()
    release.set()
    await until(sent.is_ready)
    assert (await sent.get_result()).return_value == "done"


async def test_wait_result_times_out_then_succeeds_later(broker: InMemoryBroker) -> None:
    release = asyncio.Event()

    @broker.task
    async def gated() -> int:
        await release.wait()
        return 1

    sent = await gated.kiq()
    with pytest.raises(TaskiqResultTimeoutError, match=r"not ready within 0\.05 seconds"):
        await sent.wait_result(timeout=0.05)
    release.set()
    assert (await sent.wait_result(timeout=DEADLINE)).return_value == 1


async def test_wait_result_returns_the_error_of_a_failed_task(broker: InMemoryBroker) -> None:
    @broker.task
    async def fails() -> None:
        raise LookupError("no such row")

    result = await (await fails.kiq()).wait_result(timeout=DEADLINE)
    assert result.is_err
    assert isinstance(result.error, LookupError)
    with pytest.raises(LookupError, match="no such row"):
        result.raise_for_error()


async def test_get_progress_returns_what_the_backend_holds(broker: InMemoryBroker) -> None:
    release = asyncio.Event()

    @broker.task
    async def gated() -> None:
        await release.wait()

    sent = await gated.kiq()
    assert await sent.get_progress() is None
    reported: TaskProgress[dict[str, int]] = TaskProgress(state=TaskState.STARTED, meta={"n": 3})
    await broker.result_backend.set_progress(sent.task_id, reported)
    progress = await sent.get_progress()
    release.set()
    await sent.wait_result(timeout=DEADLINE)
    assert progress is not None
    assert (progress.state, progress.meta) == (TaskState.STARTED, {"n": 3})


async def test_repr_names_the_task_id(broker: InMemoryBroker) -> None:
    @broker.task
    async def noop() -> None:
        """No-op."""

    sent = await noop.kicker().with_task_id("abc").kiq()
    assert repr(sent) == "AsyncTaskiqTask(task_id='abc')"


class JSONStoringBackend(InmemoryResultBackend):
    """Stores results as JSON text, as a networked backend would."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[str, str] = {}

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        self.raw[task_id] = json.dumps(result.model_dump(mode="json"))
        await super().set_result(task_id, result)

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        if task_id not in self.raw:
            raise NoResultError(task_id=task_id)
        return TaskiqResult[Any].model_validate_json(self.raw[task_id])


class BrokenBackend(InmemoryResultBackend):
    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        raise ConnectionError("backend unreachable")


async def test_forged_stored_error_raises_security_error_from_get_result() -> None:
    backend = JSONStoringBackend()
    forged = {"type": "os:system", "message": "touch /tmp/pwned"}
    backend.raw["forged"] = json.dumps(
        {"is_err": True, "return_value": None, "execution_time": 0, "error": forged},
    )
    with pytest.raises(SecurityError):
        await AsyncTaskiqTask("forged", backend).get_result()


async def test_backend_failure_becomes_result_get_error() -> None:
    with pytest.raises(ResultGetError, match="backend unreachable") as caught:
        await AsyncTaskiqTask("t", BrokenBackend()).get_result()
    assert isinstance(caught.value.__cause__, ConnectionError)


async def test_error_crosses_a_json_backend_end_to_end() -> None:
    broker = InMemoryBroker(result_backend=JSONStoringBackend())

    @broker.task
    async def fails() -> None:
        raise PermissionError("read-only")

    await broker.startup()
    result = await (await fails.kiq()).wait_result(timeout=DEADLINE)
    await broker.shutdown()
    assert isinstance(result.error, PermissionError)
    assert str(result.error) == "read-only"


class PollingBackend(InmemoryResultBackend):
    """Cannot push readiness: uses the base class's polling, and counts polls."""

    polls = 0

    async def is_result_ready(self, task_id: str) -> bool:
        self.polls += 1
        return await super().is_result_ready(task_id)

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        await AsyncResultBackend.wait_for_ready(self, task_id, check_interval)


async def test_zero_check_interval_does_not_spin_the_event_loop() -> None:
    backend = PollingBackend()
    with pytest.raises(TaskiqResultTimeoutError):
        await AsyncTaskiqTask("never", backend).wait_result(check_interval=0, timeout=0.1)
    assert 0 < backend.polls < 500


async def test_polling_backend_still_finds_the_result() -> None:
    broker = InMemoryBroker(result_backend=PollingBackend())

    @broker.task
    async def one() -> int:
        return 1

    await broker.startup()
    result = await (await one.kiq()).wait_result(check_interval=0.01, timeout=DEADLINE)
    await broker.shutdown()
    assert result.return_value == 1
