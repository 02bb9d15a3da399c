"""Dependency injection in tasks: every form a task may ask for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Annotated, Any

from taskiq import (
    AsyncBroker,
    Context,
    InMemoryBroker,
    TaskiqDepends,
    TaskiqMessage,
    TaskiqState,
)

DEADLINE = 20.0


async def run(task: Any, *args: Any, **kwargs: Any) -> Any:
    return await (await task.kiq(*args, **kwargs)).wait_result(timeout=DEADLINE)


class Settings:
    """A class dependency: built from its own dependencies per task run."""

    def __init__(self, state: TaskiqState = TaskiqDepends()) -> None:
        self.prefix = state.prefix


def counter() -> Generator[list[str], None, None]:
    events: list[str] = ["open"]
    try:
        yield events
    except ValueError as exc:
        events.append(f"saw {exc}")
        raise
    finally:
        events.append("closed")
        LOG.append(list(events))


async def async_resource() -> AsyncGenerator[str, None]:
    LOG.append(["async open"])
    yield "resource"
    await asyncio.sleep(0)
    LOG.append(["async closed"])


LOG: list[list[str]] = []


def double() -> int:
    return 2


class Client:
    name = "real"


def real_number() -> int:
    return 1


def fake_number() -> int:
    return 99


def default_name() -> str:
    return "injected"


async def test_builtin_dependencies_are_injected() -> None:
    broker = InMemoryBroker()
    broker.state.prefix = ">"

    @broker.task
    async def show(
        value: int,
        context: Context = TaskiqDepends(),
        state: TaskiqState = TaskiqDepends(),
        the_broker: AsyncBroker = TaskiqDepends(),
        settings: Settings = TaskiqDepends(),
    ) -> list[Any]:
        return [
            value,
            context.message.args,
            state is broker.state,
            the_broker is broker,
            settings.prefix,
        ]

    result = await run(show, 3)
    assert result.return_value == [3, [3], True, True, ">"]


async def test_annotated_dependencies_work_before_ordinary_parameters() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def scaled(
        factor: Annotated[int, TaskiqDepends(double)],
        value: int,
    ) -> int:
        return factor * value

    assert (await run(scaled, 21)).return_value == 42


async def test_custom_context_and_overrides() -> None:
    broker = InMemoryBroker()
    client = Client()
    broker.add_dependency_context({Client: client})
    broker.dependency_overrides[real_number] = fake_number

    @broker.task
    async def use(
        given: Client = TaskiqDepends(),
        number: int = TaskiqDepends(real_number),
    ) -> list[Any]:
        return [given is client, number]

    assert (await run(use)).return_value == [True, 99]
    del broker.dependency_overrides[real_number]
    assert (await run(use)).return_value == [True, 1]


async def test_generator_dependencies_are_torn_down_after_the_task() -> None:
    LOG.clear()
    broker = InMemoryBroker()
    seen_during_run: list[list[list[str]]] = []

    @broker.task
    async def use(
        events: list[str] = TaskiqDepends(counter),
        resource: str = TaskiqDepends(async_resource),
    ) -> str:
        seen_during_run.append(list(LOG))
        return resource

    assert (await run(use)).return_value == "resource"
    assert seen_during_run == [[["async open"]]]
    assert sorted(map(tuple, LOG)) == [("async closed",), ("async open",), ("open", "closed")]


async def test_task_exception_is_thrown_into_generators_when_propagating() -> None:
    LOG.clear()
    broker = InMemoryBroker()

    @broker.task
    def fail(events: list[str] = TaskiqDepends(counter)) -> None:
        raise ValueError("boom")

    result = await run(fail)
    assert isinstance(result.error, ValueError)
    assert LOG == [["open", "saw boom", "closed"]]


async def test_exceptions_are_not_thrown_into_generators_without_propagation() -> None:
    LOG.clear()
    broker = InMemoryBroker(propagate_exceptions=False)

    @broker.task
    def fail(events: list[str] = TaskiqDepends(counter)) -> None:
        raise ValueError("boom")

    result = await run(fail)
    assert isinstance(result.error, ValueError)
    assert LOG == [["open", "closed"]]


async def test_dependencies_are_cached_per_run_unless_use_cache_false() -> None:
    broker = InMemoryBroker()
    made: list[object] = []

    def fresh() -> object:
        made.append(object())
        return made[-1]

    @broker.task
    async def compare(
        first: object = TaskiqDepends(fresh),
        second: object = TaskiqDepends(fresh),
        third: object = TaskiqDepends(fresh, use_cache=False),
    ) -> list[bool]:
        return [first is second, first is third]

    assert (await run(compare)).return_value == [True, False]
    assert (await run(compare)).return_value == [True, False]
    assert len(made) == 4, "a new value per run (and one more for use_cache=False)"


async def test_sync_task_gets_its_dependencies() -> None:
    broker = InMemoryBroker()

    @broker.task
    def named(context: Context = TaskiqDepends()) -> str:
        return context.message.task_name

    assert (await run(named)).return_value == named.task_name


async def test_a_failing_dependency_fails_the_task() -> None:
    broker = InMemoryBroker()

    def broken() -> int:
        raise LookupError("no such thing")

    @broker.task
    async def use(value: int = TaskiqDepends(broken)) -> int:
        return value

    result = await run(use)
    assert isinstance(result.error, LookupError)


async def test_explicit_keyword_replaces_a_dependency() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def greet(name: str = TaskiqDepends(default_name)) -> str:
        return name

    assert (await run(greet)).return_value == "injected"
    # kiq() refuses it; a message from another client may still name it.
    message = TaskiqMessage(task_id="k1", task_name=greet.task_name, kwargs={"name": "explicit"})
    await broker.kick(broker.formatter.dumps(message))
    await broker.wait_all()
    assert (await broker.result_backend.get_result("k1")).return_value == "explicit"
