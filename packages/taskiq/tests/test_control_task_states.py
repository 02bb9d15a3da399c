"""Task states in the core: the contract on the in-memory backend, the refusal of others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from taskiq import InMemoryBroker, NotSupportedError, TaskStatus, WorkerId
from taskiq.control import log_dead_lettered, task_states_of
from taskiq.control.task_states import TaskStateRecord, TaskTransition
from taskiq.result_backends.dummy import DummyResultBackend
from taskiq.result_backends.inmemory import InmemoryResultBackend
from taskiq.testing.task_state_contract import TaskStateContract, assert_not_supported


class TestInMemoryTaskStates(TaskStateContract):
    @pytest.fixture
    def backend(self) -> Any:
        return InmemoryResultBackend()


def test_a_backend_without_states_says_so_in_one_line() -> None:
    backend = DummyResultBackend()
    assert_not_supported(backend)
    with pytest.raises(NotSupportedError) as caught:
        task_states_of(InMemoryBroker().with_result_backend(backend))
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("Task states are not supported by DummyResultBackend")


async def test_get_state_on_a_backend_without_states_raises() -> None:
    broker = InMemoryBroker(await_inplace=True).with_result_backend(DummyResultBackend())

    @broker.task
    async def nothing() -> None:
        return None

    task = await nothing.kiq()  # sending still works: only reading states is refused
    with pytest.raises(NotSupportedError):
        await task.get_state()
    with pytest.raises(NotSupportedError):
        await broker.get_task_state(task.task_id)


class _IdleBroker(InMemoryBroker):
    """Listens to nothing until the receiver stops: a receiver with no deliveries."""

    async def listen(self) -> AsyncGenerator[bytes, None]:  # type: ignore[override]
        await asyncio.Event().wait()
        yield b""  # pragma: no cover


async def test_a_dead_lettered_task_is_recorded_while_a_receiver_listens() -> None:
    broker = _IdleBroker()
    backend = broker.result_backend
    stop = asyncio.Event()
    listening = asyncio.ensure_future(broker.receiver.listen(stop))
    await asyncio.sleep(0)  # the receiver attaches its dead-letter listener
    log_dead_lettered(queue="q", task_id="dl-1", task_name="t", reason="failed 3 times")
    record: TaskStateRecord | None = None
    for _ in range(1000):
        record = await broker.get_task_state("dl-1")
        if record is not None:
            break
        await asyncio.sleep(0.001)
    stop.set()
    await asyncio.wait_for(listening, 10)
    assert record is not None
    assert record.status is TaskStatus.DEAD_LETTERED
    assert record.error == "failed 3 times"
    log_dead_lettered(queue="q", task_id="dl-2", task_name="t", reason="late")
    await asyncio.sleep(0.01)
    assert await task_states_of(backend).get_task_state("dl-2") is None


def test_the_worker_index_comes_from_the_worker_process_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "name", "worker-3:999")
    assert WorkerId.current().index == 3
    monkeypatch.setattr(multiprocessing.current_process(), "name", "MainProcess")
    assert WorkerId.current().index is None


def test_transitions_survive_json() -> None:
    step = TaskTransition.now(TaskStatus.STARTED, worker=WorkerId("h", 1, 0), attempt=1)
    assert TaskTransition.from_json(step.to_json()) == step


def test_the_fast_encoding_is_the_json_of_to_json() -> None:
    import json

    step = TaskTransition.now(
        TaskStatus.RETRYING,
        worker=WorkerId('h"ost', 1, None),
        attempt=2,
        next_run=TaskTransition.now(TaskStatus.QUEUED).time,
        error='KeyError: "k" \u00e9\n',
    )
    assert json.loads(step.to_json_bytes()) == step.to_json()
    bare = TaskTransition.now(TaskStatus.QUEUED)
    assert json.loads(bare.to_json_bytes()) == bare.to_json()
