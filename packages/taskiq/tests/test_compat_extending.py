"""Extension points as Taskiq's "extending taskiq" pages show them: subclass and it works."""

from __future__ import annotations

import asyncio
from argparse import ArgumentParser
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, TypeVar

import pytest
from taskiq import (
    AsyncBroker,
    AsyncResultBackend,
    BrokerMessage,
    InMemoryBroker,
    ScheduledTask,
    ScheduleSource,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
)
from taskiq.abc.cmd import TaskiqCMD
from taskiq.utils import maybe_awaitable

_T = TypeVar("_T")


class QueueBroker(AsyncBroker):
    """The broker template: constructor passes backend and id generator to super()."""

    def __init__(
        self,
        result_backend: AsyncResultBackend[_T] | None = None,
        task_id_generator: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def kick(self, message: BrokerMessage) -> None:
        await self.queue.put(message.message)

    async def listen(self) -> AsyncGenerator[bytes, None]:
        while True:
            yield await self.queue.get()


class DictBackend(AsyncResultBackend[_T]):
    """The result-backend template: no progress methods, only the three required ones."""

    def __init__(self) -> None:
        self.results: dict[str, TaskiqResult[_T]] = {}

    async def set_result(self, task_id: str, result: TaskiqResult[_T]) -> None:
        self.results[task_id] = result

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[_T]:
        return self.results[task_id]

    async def is_result_ready(self, task_id: str) -> bool:
        return task_id in self.results


async def test_template_broker_and_backend_run_tasks_with_a_receiver() -> None:
    from taskiq.api import run_receiver_task

    broker = QueueBroker(DictBackend(), task_id_generator=lambda: "fixed-id")

    @broker.task
    async def double(value: int) -> int:
        return value * 2

    await broker.startup()
    worker = asyncio.create_task(run_receiver_task(broker))
    try:
        task = await double.kiq(21)
        assert task.task_id == "fixed-id"
        assert (await task.wait_result(timeout=20)).return_value == 42
        assert await task.get_progress() is None  # the template has no progress storage
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await broker.shutdown()


class SyncHooks(TaskiqMiddleware):
    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        self.seen.append("sync pre_execute")
        return message

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.seen.append(f"sync post_save {type(self.broker).__name__}")


class AsyncHooks(TaskiqMiddleware):
    def __init__(self, seen: list[str]) -> None:
        super().__init__()
        self.seen = seen

    async def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        await asyncio.sleep(0)
        message.labels["my_label"] = "my_value"
        return message

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        self.seen.append(f"async post_execute {message.labels['my_label']}")


async def test_sync_and_async_middleware_hooks_run_and_see_their_broker() -> None:
    seen: list[str] = []
    broker = InMemoryBroker().with_middlewares(SyncHooks(seen), AsyncHooks(seen))

    @broker.task
    async def noop() -> None:
        return None

    await broker.startup()
    await (await noop.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert seen == [
        "sync pre_execute",
        "async post_execute my_value",
        "sync post_save InMemoryBroker",
    ]


class MySource(ScheduleSource):
    """The schedule-source template with its optional hooks."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def get_schedules(self) -> list[ScheduledTask]:
        return [ScheduledTask(task_name="", labels={}, args=[], kwargs={}, cron="* * * * *")]

    async def add_schedule(self, schedule: ScheduledTask) -> None:
        return await super().add_schedule(schedule)

    async def pre_send(self, task: ScheduledTask) -> None:
        self.calls.append("pre_send")

    async def post_send(self, task: ScheduledTask) -> None:
        self.calls.append("post_send")


async def test_schedule_source_template_is_instantiable_and_read_only_by_default() -> None:
    source = MySource()
    [schedule] = await source.get_schedules()
    assert schedule.cron == "* * * * *"
    with pytest.raises(NotImplementedError):
        await source.add_schedule(schedule)


class MyCommand(TaskiqCMD):
    short_help = "Demo command"

    def exec(self, args: Sequence[str]) -> None:
        parser = ArgumentParser()
        parser.add_argument("--test", dest="test", default="default")
        print(parser.parse_args(args).test)


def test_cli_command_template_parses_its_own_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    MyCommand().exec(["--test", "value"])
    assert capsys.readouterr().out.strip() == "value"
    assert MyCommand.short_help == "Demo command"


async def test_maybe_awaitable_accepts_values_and_awaitables() -> None:
    async def later() -> int:
        return 2

    assert await maybe_awaitable(1) == 1
    assert await maybe_awaitable(later()) == 2
