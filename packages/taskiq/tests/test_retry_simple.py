"""SimpleRetryMiddleware, end to end through InMemoryBroker's real receiver path."""

from __future__ import annotations

from typing import Any

import pytest
from taskiq import (
    InMemoryBroker,
    InmemoryResultBackend,
    SimpleRetryMiddleware,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
)
from taskiq.middlewares import SimpleRetryMiddleware as FromMiddlewares


class RecordingBackend(InmemoryResultBackend):
    """Keeps every stored result, to see which attempts reached the client."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: list[TaskiqResult[Any]] = []

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        self.stored.append(result)
        await super().set_result(task_id, result)


def make_broker(middleware: TaskiqMiddleware) -> tuple[InMemoryBroker, RecordingBackend]:
    backend = RecordingBackend()
    broker = InMemoryBroker(result_backend=backend).with_middlewares(middleware)
    return broker, backend


def test_importable_from_both_documented_paths() -> None:
    assert SimpleRetryMiddleware is FromMiddlewares


async def test_failing_task_runs_max_retries_times_in_all_and_client_sees_last() -> None:
    broker, backend = make_broker(SimpleRetryMiddleware())
    attempts: list[str] = []

    @broker.task(retry_on_error=True, max_retries=3)
    async def flaky() -> None:
        attempts.append("run")
        raise ValueError(f"attempt {len(attempts)}")

    await broker.startup()
    task = await flaky.kiq()
    result = await task.wait_result(timeout=20)
    await broker.wait_all()
    await broker.shutdown()

    assert len(attempts) == 3
    assert isinstance(result.error, ValueError)
    assert str(result.error) == "attempt 3"
    assert int(result.labels["_retries"]) == 2
    assert len(backend.stored) == 1  # the two intermediate failures were not stored


async def test_task_that_recovers_returns_its_value_under_the_same_task_id() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware())
    seen_ids: list[str] = []

    @broker.task(retry_on_error=True)
    async def recovers(value: int, context: Any = None) -> int:
        seen_ids.append(value)  # type: ignore[arg-type]
        if len(seen_ids) < 3:
            raise ConnectionError("not yet")
        return value * 2

    await broker.startup()
    task = await recovers.kiq(21)
    result = await task.wait_result(timeout=20)
    await broker.shutdown()

    assert result.return_value == 42
    assert not result.is_err
    assert seen_ids == [21, 21, 21]  # same arguments on every attempt


async def test_retry_keeps_task_id() -> None:
    ids: list[str] = []

    class RecordIds(TaskiqMiddleware):
        def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
            ids.append(message.task_id)
            return message

    broker, _ = make_broker(SimpleRetryMiddleware(default_retry_count=2))
    broker.add_middlewares(RecordIds())

    @broker.task(retry_on_error=True)
    async def fails() -> None:
        raise RuntimeError("boom")

    await broker.startup()
    task = await fails.kiq()
    await task.wait_result(timeout=20)
    await broker.shutdown()
    assert ids == [task.task_id, task.task_id]


async def test_without_retry_label_the_task_runs_once() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware())
    attempts: list[int] = []

    @broker.task
    async def no_label() -> None:
        attempts.append(1)
        raise ValueError("once")

    await broker.startup()
    result = await (await no_label.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert attempts == [1]
    assert isinstance(result.error, ValueError)


async def test_default_retry_label_retries_unlabelled_tasks_and_label_false_opts_out() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware(default_retry_count=2, default_retry_label=True))
    runs: dict[str, int] = {"plain": 0, "opted_out": 0}

    @broker.task
    async def plain() -> None:
        runs["plain"] += 1
        raise ValueError

    @broker.task(retry_on_error=False)
    async def opted_out() -> None:
        runs["opted_out"] += 1
        raise ValueError

    await broker.startup()
    await (await plain.kiq()).wait_result(timeout=20)
    await (await opted_out.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert runs == {"plain": 2, "opted_out": 1}


async def test_labels_given_as_strings_are_understood() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware())
    attempts: list[int] = []

    @broker.task
    async def stringly() -> None:
        attempts.append(1)
        raise ValueError

    await broker.startup()
    kicker = stringly.kicker().with_labels(retry_on_error="True", max_retries="2")
    await (await kicker.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert len(attempts) == 2


async def test_garbage_labels_fall_back_to_defaults() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware(default_retry_count=2))
    attempts: list[int] = []

    @broker.task
    async def garbage() -> None:
        attempts.append(1)
        raise ValueError

    await broker.startup()
    kicker = garbage.kicker().with_labels(retry_on_error="yes", max_retries="many")
    await (await kicker.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert len(attempts) == 2  # "yes" is true, "many" falls back to default_retry_count=2


@pytest.mark.parametrize("max_retries", [0, 1])
async def test_max_retries_zero_or_one_means_no_retry(max_retries: int) -> None:
    broker, _ = make_broker(SimpleRetryMiddleware())
    attempts: list[int] = []

    @broker.task(retry_on_error=True, max_retries=max_retries)
    async def never_again() -> None:
        attempts.append(1)
        raise ValueError

    await broker.startup()
    await (await never_again.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert attempts == [1]


async def test_types_of_exceptions_limits_what_is_retried() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware(types_of_exceptions=[ConnectionError]))
    runs = {"io": 0, "logic": 0}

    @broker.task(retry_on_error=True, max_retries=3)
    async def io_fails() -> None:
        runs["io"] += 1
        raise ConnectionResetError("subclass of ConnectionError")

    @broker.task(retry_on_error=True, max_retries=2)
    async def logic_fails() -> None:
        runs["logic"] += 1
        raise KeyError("not retried")

    await broker.startup()
    await (await io_fails.kiq()).wait_result(timeout=20)
    result = await (await logic_fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert runs == {"io": 3, "logic": 1}
    assert isinstance(result.error, KeyError)


async def test_no_result_on_retry_false_stores_every_attempt() -> None:
    broker, backend = make_broker(SimpleRetryMiddleware(no_result_on_retry=False))
    attempts: list[int] = []

    @broker.task(retry_on_error=True, max_retries=3)
    async def fails() -> None:
        attempts.append(1)
        raise ValueError(f"attempt {len(attempts)}")

    await broker.startup()
    await (await fails.kiq()).wait_result(timeout=20)
    await broker.wait_all()
    await broker.shutdown()
    assert [str(stored.error) for stored in backend.stored] == [
        "attempt 1",
        "attempt 2",
        "attempt 3",
    ]


async def test_sync_task_is_retried_too() -> None:
    broker, _ = make_broker(SimpleRetryMiddleware())
    attempts: list[int] = []

    @broker.task(retry_on_error=True, max_retries=2)
    def sync_fails() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError
        return 7

    await broker.startup()
    result = await (await sync_fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == 7


async def test_retry_that_cannot_be_sent_leaves_the_failure_visible(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class RefuseRetries(TaskiqMiddleware):
        def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
            if "_retries" in message.labels:
                raise RuntimeError("broker is down")
            return message

    broker, _ = make_broker(SimpleRetryMiddleware())
    broker.add_middlewares(RefuseRetries())

    @broker.task(retry_on_error=True)
    async def fails() -> None:
        raise ValueError("original")

    await broker.startup()
    result = await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert isinstance(result.error, ValueError)
    assert "SimpleRetryMiddleware.on_error raised" in caplog.text


def test_types_of_exceptions_accepts_one_class_and_rejects_non_exceptions() -> None:
    assert SimpleRetryMiddleware(types_of_exceptions=KeyError).types_of_exceptions == (KeyError,)
    with pytest.raises(TypeError, match="exception classes"):
        SimpleRetryMiddleware(types_of_exceptions=["KeyError"])  # type: ignore[list-item]
