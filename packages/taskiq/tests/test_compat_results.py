"""Results, errors and labels as Taskiq's getting-started and error-handling guides use them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from taskiq import (
    AsyncBroker,
    AsyncResultBackend,
    BrokerMessage,
    InMemoryBroker,
    NoResultError,
    TaskiqEvents,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
    TaskiqResultTimeoutError,
    TaskiqState,
)
from taskiq.result_backends.dummy import DummyResultBackend


class RecordingErrors(TaskiqMiddleware):
    """An ``on_error`` reporter like the guide's Sentry middleware."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: list[tuple[str, BaseException, bool]] = []
        self.saved: list[str] = []

    def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        self.reported.append((message.task_name, exception, exception.__traceback__ is not None))

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.saved.append(message.task_id)


async def test_failed_task_result_has_is_err_error_and_raise_for_error() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def divide(a: int, b: int) -> Any:
        return a / b

    await broker.startup()
    result = await (await divide.kiq(1, 0)).wait_result()
    assert result.is_err
    assert isinstance(result.error, ZeroDivisionError)
    with pytest.raises(ZeroDivisionError):
        result.raise_for_error()
    ok = (await (await divide.kiq(4, 2)).wait_result()).raise_for_error()
    assert ok.return_value == 2.0
    assert ok.error is None
    await broker.shutdown()


async def test_custom_exception_keeps_type_args_and_cause_for_the_client() -> None:
    class QuotaError(Exception):
        def __init__(self, code: int, text: str) -> None:
            super().__init__(code, text)
            self.code = code

    broker = InMemoryBroker()

    @broker.task
    async def charge() -> None:
        try:
            raise KeyError("account")
        except KeyError as exc:
            raise QuotaError(402, "over quota") from exc

    await broker.startup()
    error = (await (await charge.kiq()).wait_result()).error
    assert isinstance(error, QuotaError)
    assert error.args == (402, "over quota")
    assert isinstance(error.__cause__, KeyError)
    await broker.shutdown()


async def test_on_error_middleware_sees_the_exception_with_its_traceback() -> None:
    reporter = RecordingErrors()
    broker = InMemoryBroker().with_middlewares(reporter)
    started: list[str] = []

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    def init_reporting(_: TaskiqState) -> None:
        started.append("worker")

    @broker.task(task_name="compat.boom")
    async def boom() -> None:
        raise ValueError("boom")

    await broker.startup()
    await (await boom.kiq()).wait_result()
    assert started == ["worker"]
    [(name, exception, has_traceback)] = reporter.reported
    assert (name, has_traceback) == ("compat.boom", True)
    assert isinstance(exception, ValueError)
    await broker.shutdown()


async def test_no_result_error_skips_storing_but_still_calls_on_error() -> None:
    reporter = RecordingErrors()
    broker = InMemoryBroker().with_middlewares(reporter)

    @broker.task
    async def my_task() -> None:
        raise NoResultError

    await broker.startup()
    task = await my_task.kiq()
    with pytest.raises(TaskiqResultTimeoutError):
        await task.wait_result(timeout=0.5)
    assert not await task.is_ready()
    assert [type(error) for _, error, _ in reporter.reported] == [NoResultError]
    await broker.shutdown()


async def test_skip_result_label_on_decorator_or_kicker_stores_nothing() -> None:
    reporter = RecordingErrors()
    broker = InMemoryBroker(await_inplace=True).with_middlewares(reporter)
    ran: list[dict[str, Any]] = []

    @broker.task(skip_result=True)
    async def push_event(payload: dict[str, Any]) -> None:
        ran.append(payload)

    @broker.task
    async def plain(payload: dict[str, Any]) -> None:
        ran.append(payload)

    await broker.startup()
    skipped = await push_event.kiq({"a": 1})
    skipped_by_kicker = await plain.kicker().with_labels(skip_result=True).kiq(payload={"b": 2})
    stored = await plain.kiq({"c": 3})
    assert ran == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert not await skipped.is_ready()
    assert not await skipped_by_kicker.is_ready()
    assert await stored.is_ready()
    assert reporter.saved == [stored.task_id]
    await broker.shutdown()


async def test_timeout_label_on_decorator_or_kicker_fails_the_task_with_timeout() -> None:
    broker = InMemoryBroker()

    @broker.task(timeout=0.1)
    async def slow() -> None:
        await asyncio.sleep(5)

    @broker.task
    async def slow_too() -> None:
        await asyncio.sleep(5)

    await broker.startup()
    first = await (await slow.kiq()).wait_result(timeout=20)
    second = await (await slow_too.kicker().with_labels(timeout=0.3).kiq()).wait_result(timeout=20)
    for result in (first, second):
        assert result.is_err
        assert isinstance(result.error, TimeoutError)
    await broker.shutdown()


async def test_with_broker_sends_through_another_in_memory_broker() -> None:
    broker = InMemoryBroker()
    second_broker = InMemoryBroker()

    @broker.task
    async def hello() -> str:
        return "hello"

    task = await hello.kicker().with_broker(second_broker).with_labels(delay=0.1).kiq()
    assert (await task.wait_result(timeout=20)).return_value == "hello"


async def test_broker_without_result_backend_reads_results_as_none() -> None:
    class SendOnly(AsyncBroker):
        """A transport with no result backend, like getting-started's AioPikaBroker."""

        async def kick(self, message: BrokerMessage) -> None:
            """Nobody runs it: the point is what the client reads back."""

        async def listen(self) -> AsyncGenerator[bytes, None]:  # pragma: no cover
            raise NotImplementedError
            yield b""  # type: ignore[unreachable]

    broker = SendOnly()

    @broker.task
    async def add_one(value: int) -> int:
        return value + 1

    assert isinstance(broker.result_backend, DummyResultBackend)
    task = await add_one.kiq(1)
    assert await task.is_ready()
    result = await task.wait_result(timeout=5)
    assert not result.is_err
    value: object = result.return_value  # typed int, but nothing was stored
    assert value is None
    assert result.execution_time == 0.0


def test_result_types_import_from_the_backend_module_as_in_taskiq() -> None:
    from taskiq.abc.result_backend import TaskiqResult as FromBackendModule
    from taskiq.brokers.inmemory_broker import InmemoryResultBackend

    assert FromBackendModule is TaskiqResult
    assert isinstance(InMemoryBroker().result_backend, InmemoryResultBackend)


async def test_delete_result_forgets_a_stored_result() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def answer() -> int:
        return 42

    await broker.startup()
    task = await answer.kiq()
    assert (await task.wait_result(timeout=20)).return_value == 42
    await broker.result_backend.delete_result(task.task_id)
    assert not await task.is_ready()
    with pytest.raises(NoResultError):
        await task.get_result()
    await broker.result_backend.delete_result("never-stored")  # deleting nothing is fine
    await broker.shutdown()


async def test_delete_result_on_a_backend_without_it_says_so() -> None:
    class ReadOnly(AsyncResultBackend[Any]):
        async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None: ...

        async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
            raise NoResultError(task_id=task_id)

        async def is_result_ready(self, task_id: str) -> bool:
            return False

    with pytest.raises(NotImplementedError, match="ReadOnly cannot delete results"):
        await ReadOnly().delete_result("x")
    await DummyResultBackend().delete_result("x")
