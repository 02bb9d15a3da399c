"""The interfaces a broker, result backend, middleware or schedule source implements."""

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.abc.scheduler_plugin import SchedulerPlugin
from taskiq.abc.serializer import TaskiqSerializer

__all__ = [
    "AsyncBroker",
    "AsyncResultBackend",
    "ScheduleSource",
    "SchedulerPlugin",
    "TaskiqFormatter",
    "TaskiqMiddleware",
    "TaskiqSerializer",
]
