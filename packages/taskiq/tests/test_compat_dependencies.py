"""Dependencies, state and test helpers as the state-and-deps and testing guides use them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

from taskiq import (
    Context,
    InMemoryBroker,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqState,
)
from taskiq.depends.progress_tracker import ProgressTracker, TaskState
from taskiq_dependencies import Depends

T = TypeVar("T")
_counter = itertools.count()


def _next_number() -> int:
    return next(_counter)


class Holder(Generic[T]):
    """A generic class dependency: the type argument names what to inject."""

    def __init__(self, dep: T = TaskiqDepends()) -> None:
        self.dep = dep


class Numbered:
    def __init__(self, number: int = TaskiqDepends(_next_number)) -> None:
        self.number = number


async def test_generic_and_class_dependencies_are_built_from_annotations() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def uses_generic(holder: Holder[Numbered] = TaskiqDepends()) -> bool:
        return isinstance(holder.dep, Numbered)

    @broker.task
    def uses_class(numbered: Annotated[Numbered, TaskiqDepends()]) -> bool:
        return isinstance(numbered.number, int)

    await broker.startup()
    for task in (uses_generic, uses_class):
        assert (await (await task.kiq()).wait_result(timeout=20)).return_value is True  # type: ignore[call-arg]
    await broker.shutdown()


async def test_shared_sub_dependency_is_evaluated_once_unless_use_cache_is_false() -> None:
    broker = InMemoryBroker()

    def first(n: int = TaskiqDepends(_next_number)) -> int:
        return n

    def second_cached(n: int = TaskiqDepends(_next_number)) -> int:
        return n

    def second_fresh(n: int = TaskiqDepends(_next_number, use_cache=False)) -> int:
        return n

    @broker.task
    async def cached(a: int = TaskiqDepends(first), b: int = TaskiqDepends(second_cached)) -> bool:
        return a == b

    @broker.task
    async def fresh(a: int = TaskiqDepends(first), b: int = TaskiqDepends(second_fresh)) -> bool:
        return a == b

    await broker.startup()
    assert (await (await cached.kiq()).wait_result(timeout=20)).return_value is True
    assert (await (await fresh.kiq()).wait_result(timeout=20)).return_value is False
    await broker.shutdown()


async def test_generator_dependencies_open_before_and_close_after_the_task() -> None:
    broker = InMemoryBroker()
    events: list[str] = []

    def sync_resource() -> Generator[str, None, None]:
        events.append("sync open")
        yield "s"
        events.append("sync close")

    async def async_resource() -> AsyncGenerator[str, None]:
        events.append("async open")
        try:
            yield "a"
        except ValueError:
            events.append("rollback")
            raise
        events.append("commit")

    @broker.task
    async def work(
        fail: bool,
        s: str = TaskiqDepends(sync_resource),
        a: str = TaskiqDepends(async_resource),
    ) -> str:
        events.append("task")
        if fail:
            raise ValueError("boom")
        return s + a

    await broker.startup()
    assert (await (await work.kiq(False)).wait_result(timeout=20)).return_value == "sa"
    assert events.index("task") < events.index("commit")
    assert {"sync open", "sync close", "async open"} <= set(events)
    events.clear()
    assert (await (await work.kiq(True)).wait_result(timeout=20)).is_err
    assert "rollback" in events
    await broker.shutdown()


async def test_state_from_startup_event_reaches_tasks_through_context_and_dependencies() -> None:
    broker = InMemoryBroker()

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    async def open_pool(state: TaskiqState) -> None:
        state.pool = "pool"

    def closer(state: TaskiqState) -> None:
        state.closed = True

    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, closer)

    def pool_dep(context: Context = TaskiqDepends()) -> str:
        return str(context.state.pool)

    @broker.task
    async def read(
        pool: str = TaskiqDepends(pool_dep),
        state: TaskiqState = TaskiqDepends(),
    ) -> tuple[str, Any]:
        return pool, state.get_value("pool")

    await broker.startup()
    assert (await (await read.kiq()).wait_result(timeout=20)).return_value == ("pool", "pool")
    await broker.shutdown()
    assert broker.state.closed is True


async def test_add_dependency_context_supplies_a_type_for_tests() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def modify_path(some_path: Annotated[Path, TaskiqDepends()]) -> Path:
        return some_path.parent / "taskiq.py"

    assert str(await modify_path(Path.cwd())).endswith("taskiq.py")  # called directly

    broker.add_dependency_context({Path: Path.cwd()})
    await broker.startup()
    # Annotated dependencies look like required arguments to a type checker.
    result = await (await modify_path.kiq()).wait_result(timeout=20)  # type: ignore[call-overload]
    assert str(result.return_value).endswith("taskiq.py")
    broker.custom_dependency_context = {}
    await broker.shutdown()


async def test_progress_tracker_from_taskiq_dependencies_depends_reports_progress() -> None:
    broker = InMemoryBroker()
    proceed = asyncio.Event()

    @broker.task
    async def long_job(progress: ProgressTracker[str] = Depends()) -> None:
        await progress.set_progress(TaskState.STARTED, meta="10%")
        await proceed.wait()

    await broker.startup()
    task = await long_job.kiq()
    for _ in range(2000):
        progress = await task.get_progress()
        if progress is not None:
            break
        await asyncio.sleep(0.01)
    assert progress is not None
    assert (progress.state, progress.meta) == (TaskState.STARTED, "10%")
    proceed.set()
    assert not (await task.wait_result(timeout=20)).is_err
    await broker.shutdown()
