"""Middleware hooks end to end through InMemoryBroker: order, sync/async forms, isolation."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from taskiq import (
    Context,
    InMemoryBroker,
    TaskiqDepends,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
)


class SyncRecorder(TaskiqMiddleware):
    """Every hook as a plain method; records calls and tags messages."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def startup(self) -> None:
        self.calls.append(f"{self.name}.startup")

    def shutdown(self) -> None:
        self.calls.append(f"{self.name}.shutdown")

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        self.calls.append(f"{self.name}.pre_send")
        message.labels[f"sent_by_{self.name}"] = True
        return message

    def post_send(self, message: TaskiqMessage) -> None:
        self.calls.append(f"{self.name}.post_send")

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        self.calls.append(f"{self.name}.pre_execute")
        message.labels[f"run_by_{self.name}"] = True
        return message

    def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        self.calls.append(f"{self.name}.on_error:{type(exception).__name__}")

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.calls.append(f"{self.name}.post_execute")

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.calls.append(f"{self.name}.post_save")


class AsyncRecorder(TaskiqMiddleware):
    """Every hook as ``async def``; otherwise the same as `SyncRecorder`."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.sync = SyncRecorder(name, calls)

    async def startup(self) -> None:
        self.sync.startup()

    async def shutdown(self) -> None:
        self.sync.shutdown()

    async def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        return self.sync.pre_send(message)

    async def post_send(self, message: TaskiqMessage) -> None:
        self.sync.post_send(message)

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        return self.sync.pre_execute(message)

    async def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        self.sync.on_error(message, result, exception)

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.sync.post_execute(message, result)

    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.sync.post_save(message, result)


RECORDERS = [SyncRecorder, AsyncRecorder]


@pytest.mark.parametrize("first", RECORDERS)
@pytest.mark.parametrize("second", RECORDERS)
async def test_hooks_run_in_nested_order_and_can_change_the_message(
    first: type[SyncRecorder],
    second: type[SyncRecorder],
) -> None:
    calls: list[str] = []
    broker = InMemoryBroker().with_middlewares(first("a", calls), second("b", calls))

    @broker.task
    async def labels(context: Context = TaskiqDepends()) -> dict[str, Any]:
        calls.append("task")
        return dict(context.message.labels)

    await broker.startup()
    result = await (await labels.kiq()).wait_result(timeout=20)
    await broker.wait_all()
    await broker.shutdown()

    assert calls == [
        "a.startup",
        "b.startup",
        "a.pre_send",
        "b.pre_send",
        "b.post_send",
        "a.post_send",
        "a.pre_execute",
        "b.pre_execute",
        "task",
        "b.post_execute",
        "a.post_execute",
        "b.post_save",
        "a.post_save",
        "b.shutdown",
        "a.shutdown",
    ]
    for key in ("sent_by_a", "sent_by_b", "run_by_a", "run_by_b"):
        assert result.return_value[key] is True


@pytest.mark.parametrize("recorder", RECORDERS)
async def test_on_error_runs_between_execution_and_post_execute(
    recorder: type[SyncRecorder],
) -> None:
    calls: list[str] = []
    broker = InMemoryBroker().with_middlewares(recorder("m", calls))

    @broker.task
    async def fails() -> None:
        raise KeyError("x")

    await broker.startup()
    await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    worker_side = calls[calls.index("m.pre_execute") :]
    assert worker_side[:4] == [
        "m.pre_execute",
        "m.on_error:KeyError",
        "m.post_execute",
        "m.post_save",
    ]


class Exploding(TaskiqMiddleware):
    """Raises in the notification hooks, sync or async."""

    def post_send(self, message: TaskiqMessage) -> None:
        raise RuntimeError("post_send exploded")

    async def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        raise RuntimeError("on_error exploded")

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        raise RuntimeError("post_execute exploded")

    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        raise RuntimeError("post_save exploded")

    def shutdown(self) -> None:
        raise RuntimeError("shutdown exploded")


async def test_raising_notification_hooks_are_logged_and_isolated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []
    broker = InMemoryBroker().with_middlewares(SyncRecorder("inner", calls), Exploding())

    @broker.task
    async def ok() -> int:
        return 1

    @broker.task
    async def fails() -> None:
        raise ValueError("task error")

    caplog.set_level(logging.ERROR)
    await broker.startup()
    good = await (await ok.kiq()).wait_result(timeout=20)
    bad = await (await fails.kiq()).wait_result(timeout=20)
    await broker.wait_all()
    await broker.shutdown()

    assert good.return_value == 1
    assert isinstance(bad.error, ValueError)
    for hook in ("post_send", "on_error", "post_execute", "post_save", "shutdown"):
        assert f"Exploding.{hook} raised" in caplog.text
    # the middleware added before the exploding one still ran its reversed hooks
    assert calls.count("inner.post_save") == 2
    assert "inner.shutdown" in calls


async def test_raising_pre_execute_fails_the_task_but_not_the_worker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BadPreExecute(TaskiqMiddleware):
        async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
            if message.kwargs.get("poison"):
                raise LookupError("refused by middleware")
            return message

    broker = InMemoryBroker().with_middlewares(BadPreExecute())
    runs: list[bool] = []

    @broker.task
    async def task(poison: bool) -> bool:
        runs.append(poison)
        return poison

    await broker.startup()
    refused = await (await task.kiq(poison=True)).wait_result(timeout=20)
    accepted = await (await task.kiq(poison=False)).wait_result(timeout=20)
    await broker.shutdown()
    assert isinstance(refused.error, LookupError)
    assert accepted.return_value is False
    assert runs == [False]
    assert "pre_execute failed" in caplog.text


async def test_raising_pre_send_reaches_the_caller_and_nothing_is_sent() -> None:
    class BadPreSend(TaskiqMiddleware):
        def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
            raise PermissionError("not allowed to send")

    broker = InMemoryBroker().with_middlewares(BadPreSend())
    runs: list[int] = []

    @broker.task
    async def task() -> None:
        runs.append(1)

    await broker.startup()
    with pytest.raises(PermissionError):
        await task.kiq()
    await broker.wait_all()
    await broker.shutdown()
    assert runs == []


async def test_raising_startup_stops_the_broker_startup() -> None:
    class BadStartup(TaskiqMiddleware):
        async def startup(self) -> None:
            raise ConnectionRefusedError("metrics backend down")

    broker = InMemoryBroker().with_middlewares(BadStartup())
    with pytest.raises(ConnectionRefusedError):
        await broker.startup()
