"""taskiq: an asynchronous distributed task queue.

Declare tasks with ``@broker.task``, send them with ``await task.kiq(...)``,
run them with ``taskiq worker module:broker``.
"""

from importlib.metadata import PackageNotFoundError, version

from taskiq_dependencies import Depends as TaskiqDepends

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.formatter import TaskiqFormatter
from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.abc.scheduler_plugin import SchedulerPlugin
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.acks import AckableMessage, AcknowledgeType
from taskiq.brokers.inmemory_broker import InMemoryBroker
from taskiq.brokers.shared_broker import async_shared_broker
from taskiq.brokers.zmq_broker import ZeroMQBroker
from taskiq.context import Context
from taskiq.control import (
    CancelOutcome,
    ClaimStore,
    DeadLetter,
    DeadLetterPage,
    DeadLetterStore,
    Event,
    EventFeed,
    EventKind,
    QueueDepth,
    QueueInspector,
    SupportsDeadLetters,
    SupportsQueueInspection,
    SupportsTaskStates,
    SupportsWorkerRegistry,
    TaskStateRecord,
    TaskStatus,
    TaskTransition,
    WorkerId,
    WorkerInfo,
    WorkerRegistry,
    claims_of,
    dead_letters_of,
    events_of,
    queues_of,
    task_states_of,
    workers_of,
)
from taskiq.decor import AsyncTaskiqDecoratedTask
from taskiq.depends.progress_tracker import ProgressTracker, TaskProgress, TaskState
from taskiq.events import TaskiqEvents
from taskiq.exceptions import (
    BrokerConfigError,
    BrokerConnectionError,
    BrokerError,
    BrokerUnreachableError,
    ListenError,
    NoResultError,
    NotSupportedError,
    ResultBackendError,
    ResultGetError,
    ResultIsReadyError,
    ResultSetError,
    ScheduledTaskCancelledError,
    ScheduleError,
    SecurityError,
    SendTaskError,
    SharedBrokerListenError,
    SharedBrokerSendTaskError,
    TaskCancelledError,
    TaskiqError,
    TaskiqResultTimeoutError,
    TaskRejectedError,
    TaskTimeoutError,
    UnknownTaskError,
)
from taskiq.funcs import gather
from taskiq.kicker import AsyncKicker
from taskiq.message import BrokerMessage, TaskiqMessage
from taskiq.middlewares import (
    PrometheusMiddleware,
    SimpleRetryMiddleware,
    SmartRetryMiddleware,
)
from taskiq.receiver import Receiver
from taskiq.result import TaskiqResult
from taskiq.result_backends.dummy import DummyResultBackend
from taskiq.result_backends.inmemory import InmemoryResultBackend
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq.scheduler.scheduler import TaskiqScheduler
from taskiq.state import TaskiqState
from taskiq.task import AsyncTaskiqTask

try:
    __version__ = version("taskiq")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AckableMessage",
    "AcknowledgeType",
    "AsyncBroker",
    "AsyncKicker",
    "AsyncResultBackend",
    "AsyncTaskiqDecoratedTask",
    "AsyncTaskiqTask",
    "BrokerConfigError",
    "BrokerConnectionError",
    "BrokerError",
    "BrokerMessage",
    "BrokerUnreachableError",
    "CancelOutcome",
    "ClaimStore",
    "Context",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterStore",
    "DummyResultBackend",
    "Event",
    "EventFeed",
    "EventKind",
    "InMemoryBroker",
    "InmemoryResultBackend",
    "ListenError",
    "NoResultError",
    "NotSupportedError",
    "ProgressTracker",
    "PrometheusMiddleware",
    "QueueDepth",
    "QueueInspector",
    "Receiver",
    "ResultBackendError",
    "ResultGetError",
    "ResultIsReadyError",
    "ResultSetError",
    "ScheduleError",
    "ScheduleSource",
    "ScheduledTask",
    "ScheduledTaskCancelledError",
    "SchedulerPlugin",
    "SecurityError",
    "SendTaskError",
    "SharedBrokerListenError",
    "SharedBrokerSendTaskError",
    "SimpleRetryMiddleware",
    "SmartRetryMiddleware",
    "SupportsDeadLetters",
    "SupportsQueueInspection",
    "SupportsTaskStates",
    "SupportsWorkerRegistry",
    "TaskCancelledError",
    "TaskProgress",
    "TaskRejectedError",
    "TaskState",
    "TaskStateRecord",
    "TaskStatus",
    "TaskTimeoutError",
    "TaskTransition",
    "TaskiqDepends",
    "TaskiqError",
    "TaskiqEvents",
    "TaskiqFormatter",
    "TaskiqMessage",
    "TaskiqMiddleware",
    "TaskiqResult",
    "TaskiqResultTimeoutError",
    "TaskiqScheduler",
    "TaskiqSerializer",
    "TaskiqState",
    "UnknownTaskError",
    "WorkerId",
    "WorkerInfo",
    "WorkerRegistry",
    "ZeroMQBroker",
    "__version__",
    "async_shared_broker",
    "claims_of",
    "dead_letters_of",
    "events_of",
    "gather",
    "queues_of",
    "task_states_of",
    "workers_of",
]
