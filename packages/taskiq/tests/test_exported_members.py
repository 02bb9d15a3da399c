"""The curated public surface: __all__ is exact, and the seed's names are in it."""

from __future__ import annotations

import importlib

import pytest
import taskiq

#: Every name the seed (Taskiq 0.11 API index) imports from ``taskiq``.
SEED_NAMES = {
    "PrometheusMiddleware",
    "SimpleRetryMiddleware",
    "SmartRetryMiddleware",
    "TaskiqScheduler",
    "ZeroMQBroker",
    "AckableMessage",
    "AsyncBroker",
    "AsyncResultBackend",
    "AsyncTaskiqDecoratedTask",
    "AsyncTaskiqTask",
    "BrokerMessage",
    "Context",
    "InMemoryBroker",
    "NoResultError",
    "ResultGetError",
    "ScheduleSource",
    "ScheduledTask",
    "SecurityError",
    "SendTaskError",
    "TaskiqDepends",
    "TaskiqError",
    "TaskiqEvents",
    "TaskiqFormatter",
    "TaskiqMessage",
    "TaskiqMiddleware",
    "TaskiqResult",
    "TaskiqResultTimeoutError",
    "TaskiqState",
    "__version__",
    "async_shared_broker",
    "gather",
}

#: Documented module paths and a name each must provide.
DOCUMENTED_PATHS = [
    ("taskiq.abc.broker", "AsyncBroker"),
    ("taskiq.abc.formatter", "TaskiqFormatter"),
    ("taskiq.abc.middleware", "TaskiqMiddleware"),
    ("taskiq.abc.result_backend", "AsyncResultBackend"),
    ("taskiq.abc.schedule_source", "ScheduleSource"),
    ("taskiq.abc.serializer", "TaskiqSerializer"),
    ("taskiq.brokers.shared_broker", "async_shared_broker"),
    ("taskiq.brokers.inmemory_broker", "InMemoryBroker"),
    ("taskiq.message", "TaskiqMessage"),
    ("taskiq.message", "BrokerMessage"),
    ("taskiq.exceptions", "SecurityError"),
    ("taskiq.serializers", "ORJSONSerializer"),
    ("taskiq.formatters.json_formatter", "JSONFormatter"),
    ("taskiq.formatters.proxy_formatter", "ProxyFormatter"),
    ("taskiq.funcs", "gather"),
    ("taskiq.kicker", "AsyncKicker"),
    ("taskiq.decor", "AsyncTaskiqDecoratedTask"),
    ("taskiq.task", "AsyncTaskiqTask"),
    ("taskiq.result", "TaskiqResult"),
    ("taskiq.state", "TaskiqState"),
    ("taskiq.events", "TaskiqEvents"),
    ("taskiq.acks", "AckableMessage"),
    ("taskiq.control", "DeadLetter"),
    ("taskiq.control", "DeadLetterPage"),
    ("taskiq.control", "DeadLetterStore"),
    ("taskiq.control", "SupportsDeadLetters"),
    ("taskiq.control", "dead_letters_of"),
    ("taskiq.control", "QueueDepth"),
    ("taskiq.control", "QueueInspector"),
    ("taskiq.control", "SupportsQueueInspection"),
    ("taskiq.control", "queues_of"),
    ("taskiq.control.queues", "QueueDepth"),
    ("taskiq.control.dead_letters", "DeadLetter"),
    ("taskiq.control", "WorkerId"),
    ("taskiq.control", "WorkerInfo"),
    ("taskiq.control", "WorkerRegistry"),
    ("taskiq.control", "SupportsWorkerRegistry"),
    ("taskiq.control", "workers_of"),
    ("taskiq.control.workers", "RunningTaskInfo"),
    ("taskiq.control", "SupportsTaskStates"),
    ("taskiq.control", "TaskStateRecord"),
    ("taskiq.control", "TaskStatus"),
    ("taskiq.control", "TaskTransition"),
    ("taskiq.control", "task_states_of"),
    ("taskiq.control", "on_dead_lettered"),
    ("taskiq.control.task_states", "TaskStateRecord"),
    ("taskiq.exceptions", "NotSupportedError"),
]


def test_every_name_in_all_is_importable() -> None:
    for name in taskiq.__all__:
        assert hasattr(taskiq, name), name


def test_all_has_no_duplicates() -> None:
    assert len(set(taskiq.__all__)) == len(taskiq.__all__)


def test_public_names_are_in_all() -> None:
    """A public class or function imported into taskiq must be listed in __all__."""
    public = {
        name
        for name, value in vars(taskiq).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith(("taskiq", "taskiq_dependencies"))
    }
    assert public <= set(taskiq.__all__)


def test_seed_names_are_exported() -> None:
    assert sorted(SEED_NAMES - set(taskiq.__all__)) == []


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from taskiq import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(taskiq.__all__)


@pytest.mark.parametrize(("module", "name"), DOCUMENTED_PATHS)
def test_documented_module_paths_import(module: str, name: str) -> None:
    value = getattr(importlib.import_module(module), name)
    if name in taskiq.__all__:
        assert value is getattr(taskiq, name)


def test_version_is_a_string() -> None:
    assert isinstance(taskiq.__version__, str)
    assert taskiq.__version__.count(".") >= 1
