"""The broker base: task declaration, registry, builders, events, dependency context."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from taskiq import (
    AsyncBroker,
    AsyncTaskiqDecoratedTask,
    InMemoryBroker,
    TaskiqDepends,
    TaskiqEvents,
    TaskiqMiddleware,
    TaskiqState,
)
from taskiq.abc.broker import default_task_name
from taskiq.formatters.json_formatter import JSONFormatter
from taskiq.result_backends.dummy import DummyResultBackend
from taskiq.serializers import ORJSONSerializer

sys.path.insert(0, str(Path(__file__).parent / "support"))
from recording_broker import RecordingBroker


def module_level_task(value: int) -> int:
    return value


def test_bare_decorator_registers_under_module_and_function_name() -> None:
    broker = RecordingBroker()

    @broker.task
    def add(a: int, b: int) -> int:
        return a + b

    assert isinstance(add, AsyncTaskiqDecoratedTask)
    assert add.task_name == f"{__name__}:add"
    assert broker.find_task(add.task_name) is add
    assert add.labels == {}


def test_called_decorator_without_arguments() -> None:
    broker = RecordingBroker()

    @broker.task()
    def add(a: int, b: int) -> int:
        return a + b

    assert add.task_name == f"{__name__}:add"


def test_decorator_with_positional_name() -> None:
    broker = RecordingBroker()

    @broker.task("custom:add")
    def add(a: int, b: int) -> int:
        return a + b

    assert add.task_name == "custom:add"
    assert broker.find_task("custom:add") is add
    assert broker.find_task(f"{__name__}:add") is None


def test_decorator_with_keyword_name_and_labels() -> None:
    broker = RecordingBroker()

    @broker.task(task_name="named", timeout=5, retry_on_error=True)
    def add(a: int, b: int) -> int:
        return a + b

    assert add.task_name == "named"
    assert add.labels == {"timeout": 5, "retry_on_error": True}


def test_register_task_without_decorator_syntax() -> None:
    broker = RecordingBroker()
    task = broker.register_task(module_level_task, task_name="dyn", priority=3)
    assert task.task_name == "dyn"
    assert task.labels == {"priority": 3}
    assert task.original_func is module_level_task
    assert broker.register_task(module_level_task).task_name == f"{__name__}:module_level_task"


def test_default_name_uses_function_name_not_qualname() -> None:
    def inner() -> None:
        """Nested: its qualname has <locals>, its name does not."""

    assert default_task_name(inner) == f"{__name__}:inner"


def test_get_all_tasks_lists_every_registered_task() -> None:
    broker = RecordingBroker()
    first = broker.register_task(module_level_task, "first")
    second = broker.register_task(module_level_task, "second")
    tasks = broker.get_all_tasks()
    assert tasks["first"] is first
    assert tasks["second"] is second
    assert broker.find_task("missing") is None


def test_registries_of_two_brokers_are_separate() -> None:
    one, two = RecordingBroker(), RecordingBroker()
    one.register_task(module_level_task, "only-on-one")
    assert two.find_task("only-on-one") is None


async def test_kiq_sends_a_decodable_message_through_kick() -> None:
    broker = RecordingBroker()
    task = broker.register_task(module_level_task, "echo", label="x")
    sent = await task.kiq(7)
    [message] = broker.sent
    decoded = broker.formatter.loads(message.message)
    assert (decoded.task_id, decoded.task_name) == (sent.task_id, "echo")
    assert (decoded.args, decoded.kwargs, decoded.labels) == ([7], {}, {"label": "x"})


def test_builders_return_the_broker_and_apply_settings() -> None:
    broker = RecordingBroker()
    backend = DummyResultBackend()
    serializer = ORJSONSerializer()
    formatter = JSONFormatter()
    middleware = TaskiqMiddleware()

    def handler(state: TaskiqState) -> None:
        state.ran = True

    assert broker.with_result_backend(backend) is broker
    assert broker.with_serializer(serializer) is broker
    assert broker.with_formatter(formatter) is broker
    assert broker.with_id_generator(lambda: "fixed") is broker
    assert broker.with_middlewares(middleware) is broker
    assert broker.with_event_handlers(TaskiqEvents.CLIENT_STARTUP, handler) is broker
    assert broker.result_backend is backend
    assert broker.serializer is serializer
    assert broker.formatter is formatter
    assert broker.id_generator() == "fixed"
    assert broker.middlewares == [middleware]
    assert middleware.broker is broker
    assert len(broker.event_handlers[TaskiqEvents.CLIENT_STARTUP]) == 1


async def test_id_generator_names_sent_tasks() -> None:
    broker = RecordingBroker().with_id_generator(lambda: "my-id")
    task = broker.register_task(module_level_task, "t")
    assert (await task.kiq(1)).task_id == "my-id"


def test_with_middlewares_instantiates_a_middleware_class() -> None:
    broker = RecordingBroker().with_middlewares(TaskiqMiddleware)
    (added,) = broker.middlewares
    assert type(added) is TaskiqMiddleware
    assert added.broker is broker


def test_add_middlewares_refuses_non_middlewares() -> None:
    broker = RecordingBroker()
    with pytest.raises(TypeError, match="not a TaskiqMiddleware"):
        broker.add_middlewares(object())  # type: ignore[arg-type]


async def _fired_events(broker: AsyncBroker) -> list[str]:
    fired: list[str] = []
    for event in TaskiqEvents:
        broker.add_event_handler(event, lambda _state, e=event: fired.append(e.value))
    await broker.startup()
    await broker.shutdown()
    return fired


async def test_client_fires_only_client_events() -> None:
    fired = await _fired_events(RecordingBroker())
    assert fired == ["CLIENT_STARTUP", "CLIENT_SHUTDOWN"]


async def test_worker_fires_only_worker_events() -> None:
    broker = RecordingBroker()
    broker.is_worker_process = True
    assert await _fired_events(broker) == ["WORKER_STARTUP", "WORKER_SHUTDOWN"]


async def test_on_event_accepts_sync_and_async_handlers_with_state() -> None:
    broker = RecordingBroker()

    @broker.on_event(TaskiqEvents.CLIENT_STARTUP, TaskiqEvents.WORKER_STARTUP)
    async def open_pool(state: TaskiqState) -> None:
        state.pool = "pool"

    @broker.on_event(TaskiqEvents.CLIENT_SHUTDOWN)
    def close_pool(state: TaskiqState) -> None:
        state.closed = state.pool

    assert callable(open_pool)
    assert callable(close_pool)
    await broker.startup()
    assert broker.state.pool == "pool"
    await broker.shutdown()
    assert broker.state.closed == "pool"


class LifecycleBackend(DummyResultBackend):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    async def startup(self) -> None:
        self.log.append("backend-start")

    async def shutdown(self) -> None:
        self.log.append("backend-stop")


class LifecycleMiddleware(TaskiqMiddleware):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def startup(self) -> None:
        self.log.append("middleware-start")

    async def shutdown(self) -> None:
        self.log.append("middleware-stop")


async def test_startup_and_shutdown_drive_result_backend_and_middlewares() -> None:
    log: list[str] = []
    broker = RecordingBroker().with_result_backend(LifecycleBackend(log))
    broker.add_middlewares(LifecycleMiddleware(log))
    await broker.startup()
    assert sorted(log) == ["backend-start", "middleware-start"]
    await broker.shutdown()
    assert sorted(log[2:]) == ["backend-stop", "middleware-stop"]


class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting


async def test_dependency_context_injects_values_by_type() -> None:
    broker = InMemoryBroker(await_inplace=True)
    broker.add_dependency_context({Greeter: Greeter("hello")})

    @broker.task
    async def greet(name: str, greeter: Greeter = TaskiqDepends()) -> str:
        return f"{greeter.greeting} {name}"

    await broker.startup()
    result = await (await greet.kiq("ann")).wait_result(timeout=10)
    await broker.shutdown()
    assert result.return_value == "hello ann"
    assert broker.custom_dependency_context[Greeter].greeting == "hello"


def real_database() -> str:
    return "real"


async def test_dependency_overrides_replace_a_dependency() -> None:
    broker = InMemoryBroker(await_inplace=True)
    broker.dependency_overrides[real_database] = lambda: "fake"

    @broker.task
    async def which(db: str = TaskiqDepends(real_database)) -> str:
        return db

    await broker.startup()
    result = await (await which.kiq()).wait_result(timeout=10)
    await broker.shutdown()
    assert result.return_value == "fake"


def test_broker_attributes_users_touch_exist() -> None:
    broker = RecordingBroker()
    attributes: dict[str, Any] = {
        name: getattr(broker, name)
        for name in (
            "result_backend",
            "formatter",
            "serializer",
            "middlewares",
            "state",
            "is_worker_process",
            "is_scheduler_process",
            "decorator_class",
            "id_generator",
            "local_task_registry",
            "global_task_registry",
            "event_handlers",
            "custom_dependency_context",
            "dependency_overrides",
        )
    }
    assert attributes["is_worker_process"] is False
    assert attributes["is_scheduler_process"] is False
    assert attributes["decorator_class"] is AsyncTaskiqDecoratedTask


def test_task_in_a_script_run_as_main_is_named_after_the_file(tmp_path: Path) -> None:
    script = tmp_path / "my_jobs.py"
    script.write_text(
        "from taskiq import InMemoryBroker\n"
        "broker = InMemoryBroker()\n"
        "@broker.task\n"
        "def cleanup() -> None: ...\n"
        "print(cleanup.task_name)\n",
    )
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == "my_jobs:cleanup"


async def test_a_retried_startup_runs_its_startup_handlers_once() -> None:
    """The worker retries a startup that failed on an unreachable result backend."""
    from taskiq import InMemoryBroker, TaskiqEvents
    from taskiq.result_backends.inmemory import InmemoryResultBackend

    class FlakyBackend(InmemoryResultBackend):
        attempts = 0

        async def startup(self) -> None:
            FlakyBackend.attempts += 1
            if FlakyBackend.attempts == 1:
                raise ConnectionRefusedError("result backend is down")

    broker = InMemoryBroker().with_result_backend(FlakyBackend())
    calls: list[str] = []
    broker.add_event_handler(TaskiqEvents.CLIENT_STARTUP, lambda state: calls.append("up"))
    with pytest.raises(ConnectionRefusedError):
        await broker.startup()
    await broker.startup()
    assert calls == ["up"]
    assert FlakyBackend.attempts == 2
    await broker.shutdown()
    await broker.startup()  # after a shutdown, a new startup runs everything again
    assert calls == ["up", "up"]
    await broker.shutdown()
