"""The task-state contract suite: one set of tests every `SupportsTaskStates` backend passes.

A package subclasses `TaskStateContract` in its tests and overrides the
``backend`` fixture: a started result backend on storage nobody else uses (a
fresh bucket, prefix or instance). The suite writes transitions directly, then
runs tasks through the worker's own path (`InMemoryBroker` on that backend, so
the receiver and the retry middleware record them) and checks what reads back.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from typing import Any

import pytest

from taskiq.brokers.inmemory_broker import InMemoryBroker
from taskiq.control.task_states import (
    SupportsTaskStates,
    TaskStateRecord,
    TaskStatus,
    TaskTransition,
    task_states_of,
)
from taskiq.control.workers import WorkerId
from taskiq.exceptions import NotSupportedError
from taskiq.middlewares.simple_retry_middleware import SimpleRetryMiddleware


def _at(seconds: float) -> datetime.datetime:
    base = datetime.datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=datetime.timezone.utc)
    return base + datetime.timedelta(seconds=seconds)


def _step(status: TaskStatus, seconds: float, **details: Any) -> TaskTransition:
    return TaskTransition(status=status, time=_at(seconds), **details)


def _fresh_id() -> str:
    return f"contract-{uuid.uuid4().hex}"


class _Flaky:
    """Fails the first ``failures`` calls, then returns ``"ok"``."""

    def __init__(self, failures: int) -> None:
        self.left = failures

    async def __call__(self) -> str:
        if self.left > 0:
            self.left -= 1
            raise RuntimeError("flaky")
        return "ok"


class TaskStateContract:
    """Subclass and override ``backend``; every test uses fresh task ids."""

    @pytest.fixture
    def backend(self) -> Any:
        """A started result backend implementing `SupportsTaskStates` (override)."""
        pytest.skip("the backend fixture is not overridden")

    @pytest.fixture
    def store(self, backend: Any) -> SupportsTaskStates:
        return task_states_of(backend)

    @pytest.fixture
    def broker(self, backend: Any) -> InMemoryBroker:
        """The worker path on the backend: in process, results stored in ``backend``."""
        return InMemoryBroker(await_inplace=True).with_result_backend(backend)

    async def test_an_unknown_id_reads_as_none(self, store: SupportsTaskStates) -> None:
        assert await store.get_task_state(_fresh_id()) is None

    async def test_a_queued_task_is_known_and_queued(self, store: SupportsTaskStates) -> None:
        task_id = _fresh_id()
        await store.record_task_state(task_id, _step(TaskStatus.QUEUED, 0))
        record = await store.get_task_state(task_id)
        assert record is not None
        assert record.task_id == task_id
        assert record.status is TaskStatus.QUEUED
        assert record.worker is None

    async def test_every_field_round_trips(self, store: SupportsTaskStates) -> None:
        task_id = _fresh_id()
        steps = [
            _step(TaskStatus.QUEUED, 0),
            _step(TaskStatus.STARTED, 1, worker=WorkerId("h", 12, 3), attempt=1),
            _step(
                TaskStatus.RETRYING,
                2,
                worker=WorkerId("h", 12, None),
                attempt=2,
                next_run=_at(30),
                error="RuntimeError: flaky",
            ),
            _step(TaskStatus.FAILED, 3, attempt=2, error="KeyError: 'k'"),
        ]
        for step in steps:
            await store.record_task_state(task_id, step)
        assert await store.get_task_state(task_id) == TaskStateRecord(task_id, tuple(steps))

    async def test_started_then_succeeded_names_the_worker(
        self,
        store: SupportsTaskStates,
    ) -> None:
        task_id = _fresh_id()
        worker = WorkerId("box", 4242, 0)
        await store.record_task_state(task_id, _step(TaskStatus.QUEUED, 0))
        await store.record_task_state(task_id, _step(TaskStatus.STARTED, 1, worker=worker))
        started = await store.get_task_state(task_id)
        assert started is not None
        assert started.status is TaskStatus.STARTED
        assert started.worker == worker
        assert started.started_at == _at(1)
        await store.record_task_state(task_id, _step(TaskStatus.SUCCEEDED, 2, worker=worker))
        done = await store.get_task_state(task_id)
        assert done is not None
        assert done.status is TaskStatus.SUCCEEDED
        assert [step.status for step in done.timeline] == [
            TaskStatus.QUEUED,
            TaskStatus.STARTED,
            TaskStatus.SUCCEEDED,
        ]

    async def test_a_late_queued_write_does_not_hide_the_start(
        self,
        store: SupportsTaskStates,
    ) -> None:
        task_id = _fresh_id()
        await store.record_task_state(task_id, _step(TaskStatus.STARTED, 1))
        await store.record_task_state(task_id, _step(TaskStatus.QUEUED, 0))
        record = await store.get_task_state(task_id)
        assert record is not None
        assert record.status is TaskStatus.STARTED
        assert record.timeline[0].status is TaskStatus.QUEUED

    async def test_dead_lettered_keeps_the_reason(self, store: SupportsTaskStates) -> None:
        task_id = _fresh_id()
        await store.record_task_state(
            task_id,
            _step(TaskStatus.DEAD_LETTERED, 0, error="failed 5 times"),
        )
        record = await store.get_task_state(task_id)
        assert record is not None
        assert record.status is TaskStatus.DEAD_LETTERED
        assert record.error == "failed 5 times"
        assert record.status.is_final

    async def test_tasks_do_not_share_timelines(self, store: SupportsTaskStates) -> None:
        first, second = _fresh_id(), _fresh_id()
        await store.record_task_state(first, _step(TaskStatus.QUEUED, 0))
        await store.record_task_state(second, _step(TaskStatus.STARTED, 0))
        one = await store.get_task_state(first)
        two = await store.get_task_state(second)
        assert one is not None
        assert two is not None
        assert (one.status, two.status) == (TaskStatus.QUEUED, TaskStatus.STARTED)

    async def test_concurrent_appends_all_survive(self, store: SupportsTaskStates) -> None:
        task_id = _fresh_id()
        steps = [_step(TaskStatus.QUEUED, index) for index in range(8)]
        await asyncio.gather(*(store.record_task_state(task_id, step) for step in steps))
        record = await store.get_task_state(task_id)
        assert record is not None
        assert sorted(step.time for step in record.timeline) == [step.time for step in steps]

    async def test_deleting_the_result_forgets_the_state(self, backend: Any) -> None:
        task_id = _fresh_id()
        store = task_states_of(backend)
        await store.record_task_state(task_id, _step(TaskStatus.QUEUED, 0))
        await backend.delete_result(task_id)
        assert await store.get_task_state(task_id) is None

    async def test_the_worker_records_queued_started_succeeded(
        self,
        broker: InMemoryBroker,
    ) -> None:
        @broker.task(task_name=f"contract:{uuid.uuid4().hex}")
        async def double(value: int) -> int:
            return value * 2

        task = await double.kiq(21)
        assert (await task.wait_result(timeout=30)).return_value == 42
        record = await task.get_state()
        assert record is not None
        assert [step.status for step in record.timeline] == [
            TaskStatus.QUEUED,
            TaskStatus.STARTED,
            TaskStatus.SUCCEEDED,
        ]
        assert record.worker == WorkerId.current()
        assert record.attempt == 1
        assert await broker.get_task_state(task.task_id) == record

    async def test_a_failure_is_recorded_with_its_error(self, broker: InMemoryBroker) -> None:
        @broker.task(task_name=f"contract:{uuid.uuid4().hex}")
        async def broken() -> None:
            raise KeyError("missing")

        task = await broken.kiq()
        assert (await task.wait_result(timeout=30)).is_err
        record = await task.get_state()
        assert record is not None
        assert record.status is TaskStatus.FAILED
        assert record.error == "KeyError: 'missing'"

    async def test_a_retry_is_recorded_with_its_attempt(self, broker: InMemoryBroker) -> None:
        broker.add_middlewares(SimpleRetryMiddleware(default_retry_count=3))
        flaky = broker.register_task(
            _Flaky(failures=1),
            f"contract:{uuid.uuid4().hex}",
            retry_on_error=True,
        )
        task = await flaky.kiq()
        assert (await task.wait_result(timeout=30)).return_value == "ok"
        record = await task.get_state()
        assert record is not None
        statuses = [step.status for step in record.timeline]
        assert TaskStatus.RETRYING in statuses
        assert record.status is TaskStatus.SUCCEEDED
        retrying = record.timeline[statuses.index(TaskStatus.RETRYING)]
        assert retrying.attempt == 2
        assert retrying.error == "RuntimeError: flaky"
        assert record.attempt == 2

    async def test_states_off_records_nothing(self, broker: InMemoryBroker) -> None:
        broker.with_task_states(False)

        @broker.task(task_name=f"contract:{uuid.uuid4().hex}")
        async def quiet() -> int:
            return 1

        task = await quiet.kiq()
        assert (await task.wait_result(timeout=30)).return_value == 1
        assert await task.get_state() is None


def assert_not_supported(backend: Any) -> None:
    """``backend`` refuses task states in one line naming itself."""
    with pytest.raises(NotSupportedError, match=type(backend).__name__):
        task_states_of(backend)
