"""Every error taskiq raises on purpose.

    TaskiqError
    ├── BrokerError                       a broker could not do its job
    │   ├── BrokerConnectionError         the service is unreachable or refused us
    │   │   ├── BrokerUnreachableError    transient: the worker waits and retries
    │   │   └── BrokerConfigError         cannot heal: bad URL/option/login/name
    │   ├── SendTaskError                 a kick failed; the task was NOT sent
    │   │   └── SharedBrokerSendTaskError a shared task has no default broker
    │   ├── ListenError                   the broker cannot deliver messages
    │   │   └── SharedBrokerListenError   the shared broker cannot be listened to
    │   └── UnknownTaskError              no task is registered under that name
    ├── ResultBackendError                a result backend could not do its job
    │   ├── ResultGetError                a stored result cannot be read back
    │   │   └── NoResultError             no result is stored (yet, or any more)
    │   ├── ResultIsReadyError            readiness could not be checked
    │   └── ResultSetError                a result could not be stored
    ├── TaskiqResultTimeoutError          waiting for a result took too long
    ├── TaskTimeoutError                  a task ran past its ``timeout`` label
    ├── SecurityError                     a payload tried to name unsafe code
    ├── ScheduledTaskCancelledError       a schedule source vetoed one firing
    ├── TaskRejectedError                 the task rejected its own message
    ├── TaskCancelledError                the task was cancelled (``task.cancel()``)
    ├── ScheduleError                     a schedule is malformed
    └── NotSupportedError                 this broker/backend cannot do that operation

Each class carries a default message that says what happened and what to do;
pass a more specific message (or keyword details) when raising.
"""

from __future__ import annotations

from typing import Any


class TaskiqError(Exception):
    """Base class of every taskiq error.

    ``TaskiqError("text")`` uses the text; ``TaskiqError(key=value)`` formats the
    class's ``__template__`` with the keywords and keeps them as attributes.
    """

    __template__ = "A taskiq operation failed; the chained exception (__cause__) says why."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.__dict__.update(details)
        if message is None:
            try:
                message = self.__template__.format(**details)
            except (KeyError, IndexError):
                message = self.__template__
        self.message = message
        self.details = details
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), str(self), vars(self).get("details", {})))

    def __str__(self) -> str:
        # An instance rebuilt from a stored error without __init__ (taskiq.error_codec)
        # may lack ``message``: fall back to the arguments, as BaseException does.
        message = vars(self).get("message")
        return message if isinstance(message, str) else super().__str__()


def _rebuild_error(
    cls: type[TaskiqError],
    message: str,
    details: dict[str, Any],
) -> TaskiqError:
    return cls(message, **details)


class BrokerError(TaskiqError):
    """A broker failed to do its job."""

    __template__ = "The broker failed; check that the service is running and reachable."


class BrokerConnectionError(BrokerError):
    """The broker's service is unreachable or refused the connection."""

    __template__ = (
        "Cannot connect to {service} at {address}: {reason}. "
        "Check that it is running and that the URL, port and credentials are right."
    )


class BrokerUnreachableError(BrokerConnectionError):
    """The service did not answer (refused, reset, timed out): it may come back.

    ``taskiq worker`` and ``taskiq scheduler`` wait for it with
    `taskiq.reconnect.ReconnectBackoff` instead of exiting.
    """


class BrokerConfigError(BrokerConnectionError):
    """The broker cannot work as configured, however long we wait.

    A bad URL scheme, an unknown option, a refused login, an invalid queue or
    stream name: ``taskiq worker`` exits once (non-zero) instead of retrying.
    """

    __template__ = "The broker is misconfigured: {reason}. Fix the setting and start again."


class SendTaskError(BrokerError):
    """A task could not be sent; nothing was enqueued."""

    __template__ = (
        "The task could not be sent and nothing was enqueued: {reason}. "
        "Check that the broker is started and reachable, then send it again."
    )


class SharedBrokerSendTaskError(SendTaskError):
    """A shared task was kicked before any default broker was set."""

    __template__ = (
        "This task was declared with async_shared_broker, which cannot send tasks. "
        "Call async_shared_broker.default_broker(your_broker) at startup, or use "
        "task.kicker().with_broker(your_broker).kiq(...)."
    )


class ListenError(BrokerError):
    """The broker cannot deliver messages to a worker."""

    __template__ = (
        "The broker cannot deliver messages: {reason}. "
        "Check the broker's connection settings and that its service is running."
    )


class SharedBrokerListenError(ListenError):
    """Someone tried to run a worker on the shared broker."""

    __template__ = (
        "async_shared_broker only declares tasks and cannot be listened to; "
        "run the worker with your real broker instead."
    )


class UnknownTaskError(BrokerError):
    """No task is registered under the requested name."""

    __template__ = (
        "No task named {task_name!r} is registered. Import the module that declares it "
        "in the worker (pass it on the command line or use --fs-discover)."
    )


class ResultBackendError(TaskiqError):
    """A result backend failed to do its job."""

    __template__ = "The result backend failed; check that its service is reachable."


class ResultGetError(ResultBackendError):
    """A stored result could not be read back."""

    __template__ = (
        "Cannot read the result of task {task_id!r}: {reason}. Check that the result "
        "backend is reachable and that workers and clients run compatible versions."
    )


class NoResultError(ResultGetError):
    """No result is stored for the task: not finished, expired, or evicted."""

    __template__ = (
        "No result is stored for task {task_id!r}. It may not have finished yet, "
        "or its result expired or was evicted; check is_ready() before get_result()."
    )


class ResultIsReadyError(ResultBackendError):
    """Readiness of a result could not be checked."""

    __template__ = (
        "Cannot check whether the result of task {task_id!r} is ready: {reason}. "
        "Check that the result backend's service is reachable."
    )


class ResultSetError(ResultBackendError):
    """A result could not be stored."""

    __template__ = (
        "Cannot store the result of task {task_id!r}: {reason}. Check the result "
        "backend's service and that the return value can be serialized."
    )


class TaskiqResultTimeoutError(TaskiqError):
    """The result was not ready within the requested timeout."""

    __template__ = (
        "The result was not ready within {timeout} seconds. Is a worker running for "
        "this broker? Raise the timeout if the task is slow."
    )


class TaskTimeoutError(TaskiqError, TimeoutError):
    """A task ran longer than its ``timeout`` label allows and was stopped."""

    __template__ = (
        "Task {task_name!r} exceeded its timeout of {timeout} seconds and was stopped. "
        "Raise its timeout label or split the work into smaller tasks."
    )


class SecurityError(TaskiqError):
    """A payload asked us to load or run something that is not allowed."""

    __template__ = (
        "Refused to decode an unsafe payload: {reason}. It was not written by taskiq; "
        "check who can write to your broker and result backend."
    )


class ScheduledTaskCancelledError(TaskiqError):
    """Raised by a schedule source's ``pre_send`` to skip one firing of a schedule."""

    __template__ = (
        "The schedule source cancelled this run of the scheduled task; "
        "the schedule itself stays and fires again at its next time."
    )


class TaskRejectedError(TaskiqError):
    """The task rejected its own message (``Context.reject()``)."""

    __template__ = (
        "The task rejected its message; it will not be retried "
        "(brokers with dead-lettering keep it in the dead-letter queue)."
    )


class TaskCancelledError(TaskiqError):
    """The task was cancelled (``task.cancel()``, ``taskiq cancel``): its stored outcome.

    ``raise_for_error()`` raises it; it is never retried nor dead-lettered.
    """

    __template__ = (
        "Task {task_id!r} was cancelled on request; it did not run to its end "
        "(see docs/task-control.md)."
    )


class ScheduleError(TaskiqError):
    """A schedule is malformed (bad cron, zone, or no time at all)."""

    __template__ = (
        "Invalid schedule {schedule_id!r}: {reason}. Fix its cron expression, time or interval."
    )


class NotSupportedError(TaskiqError):
    """The broker or result backend cannot do this (control-plane) operation at all.

    ``feature`` names the operation and ``implementation`` the class that lacks it.
    """

    __template__ = (
        "Not supported by {implementation}: {feature}. Use a broker or backend that "
        "supports it (see docs/operations.md)."
    )
