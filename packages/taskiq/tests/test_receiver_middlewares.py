"""Middleware hooks on the worker side: order, failures, and NoResultError."""

from __future__ import annotations

from typing import Any

from taskiq import InMemoryBroker, NoResultError, TaskiqMessage, TaskiqMiddleware, TaskiqResult

DEADLINE = 20.0


class Recorder(TaskiqMiddleware):
    """Logs every worker-side hook; sync and async hooks mixed on purpose."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        self.log.append(f"{self.name}.pre_execute")
        return message

    def on_error(self, message: Any, result: Any, exception: BaseException) -> None:
        self.log.append(f"{self.name}.on_error:{type(exception).__name__}")

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.log.append(f"{self.name}.post_execute")

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.log.append(f"{self.name}.post_save")


async def test_hooks_run_nested_in_order_around_a_failing_task() -> None:
    log: list[str] = []
    broker = InMemoryBroker(await_inplace=True)
    broker.add_middlewares(Recorder("a", log), Recorder("b", log))

    @broker.task
    def fail() -> None:
        log.append("task")
        raise KeyError("k")

    await fail.kiq()
    assert log == [
        "a.pre_execute",
        "b.pre_execute",
        "task",
        "b.on_error:KeyError",
        "a.on_error:KeyError",
        "b.post_execute",
        "a.post_execute",
        "b.post_save",
        "a.post_save",
    ]


async def test_pre_execute_may_change_the_message() -> None:
    class Double(TaskiqMiddleware):
        def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
            message.args = [arg * 2 for arg in message.args]
            return message

    broker = InMemoryBroker().with_middlewares(Double())

    @broker.task
    async def identity(value: int) -> int:
        return value

    result = await (await identity.kiq(21)).wait_result(timeout=DEADLINE)
    assert result.return_value == 42


async def test_pre_execute_that_raises_fails_the_task_with_its_error() -> None:
    ran: list[bool] = []

    class Refuse(TaskiqMiddleware):
        async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
            raise PermissionError("not today")

    broker = InMemoryBroker().with_middlewares(Refuse())

    @broker.task
    async def job() -> None:
        ran.append(True)

    result = await (await job.kiq()).wait_result(timeout=DEADLINE)
    assert ran == []
    assert isinstance(result.error, PermissionError)
    assert str(result.error) == "not today"


async def test_a_failing_post_hook_is_isolated() -> None:
    log: list[str] = []

    class Broken(TaskiqMiddleware):
        def post_execute(self, message: Any, result: Any) -> None:
            raise RuntimeError("middleware bug")

    broker = InMemoryBroker().with_middlewares(Broken(), Recorder("r", log))

    @broker.task
    async def job() -> int:
        return 7

    result = await (await job.kiq()).wait_result(timeout=DEADLINE)
    assert result.return_value == 7
    assert "r.post_save" in log


async def test_no_result_error_set_by_a_middleware_skips_storing() -> None:
    class Swallow(TaskiqMiddleware):
        def post_execute(self, message: Any, result: TaskiqResult[Any]) -> None:
            result.error = NoResultError(task_id=message.task_id)

    broker = InMemoryBroker(await_inplace=True).with_middlewares(Swallow())

    @broker.task
    async def job() -> int:
        return 1

    handle = await job.kiq()
    assert not await handle.is_ready()


async def test_the_worker_survives_a_task_that_calls_exit() -> None:
    broker = InMemoryBroker()

    @broker.task
    def leave() -> None:
        raise SystemExit(3)

    @broker.task
    def stay() -> str:
        return "still here"

    first = await leave.kiq()
    second = await stay.kiq()
    assert (await second.wait_result(timeout=DEADLINE)).return_value == "still here"
    assert isinstance((await first.wait_result(timeout=DEADLINE)).error, SystemExit)
