"""The receiver's events: task received, started, succeeded, failed, retried, dead-lettered.

Chosen with the task-state records (`Receiver._refresh_states`): a broker that
publishes no events gets `NO_EVENTS`. Every method is synchronous and, while nobody
subscribes, costs a clock read (`taskiq.control.event_publisher`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskiq.control.event_publisher import EventPublisher, publisher_of
from taskiq.control.events import Event, EventKind
from taskiq.control.task_states import on_dead_lettered
from taskiq.control.workers import WorkerId
from taskiq.driver_errors import one_line
from taskiq.exceptions import NoResultError, TaskRejectedError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from taskiq.message import TaskiqMessage
    from taskiq.result import TaskiqResult


class TaskEvents:
    """Emits the worker's events of each task through one `EventPublisher`."""

    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher
        self._remove_listener: Callable[[], None] | None = None

    @staticmethod
    def of(broker: object) -> TaskEvents:
        """The events of ``broker``: `NO_EVENTS` when it publishes none."""
        publisher = publisher_of(broker)
        return NO_EVENTS if publisher is None else TaskEvents(publisher)

    def attach(self) -> None:
        """Start emitting the dead letters of this process (see `on_dead_lettered`)."""
        if self._remove_listener is None:
            self._remove_listener = on_dead_lettered(self._dead_lettered)

    async def detach(self) -> None:
        """Stop emitting dead letters and send what is queued."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        await self.publisher.flush()

    def received(self, message: TaskiqMessage) -> None:
        """The worker decoded the delivery of a task it knows."""
        self._task(EventKind.TASK_RECEIVED, message)

    def started(self, message: TaskiqMessage) -> None:
        """The task starts now."""
        self._task(EventKind.TASK_STARTED, message)

    def finished(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Succeeded, failed or retried (a rejected run is reported as dead-lettered)."""
        error = result.error
        if isinstance(error, TaskRejectedError):
            return
        extra: dict[str, Any] = {"duration": result.execution_time}
        if error is None:
            kind = EventKind.TASK_SUCCEEDED
        elif isinstance(error, NoResultError):  # a retry middleware sent it again
            kind = EventKind.TASK_RETRIED
        else:
            kind = EventKind.TASK_FAILED
            extra["error"] = one_line(error)
        self._task(kind, message, extra)

    def _task(
        self,
        kind: EventKind,
        message: TaskiqMessage,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.publisher.emit(
            Event.now(
                kind,
                task_id=message.task_id,
                task_name=message.task_name,
                worker=WorkerId.current(),
                extra=extra or {},
            ),
        )

    def _dead_lettered(self, task_id: str, reason: str) -> None:
        self.publisher.emit(
            Event.now(
                EventKind.TASK_DEAD_LETTERED,
                task_id=task_id,
                worker=WorkerId.current(),
                extra={"reason": reason},
            ),
        )


class _NoEvents(TaskEvents):
    """Emits nothing: events are off, or the backend carries none."""

    def __init__(self) -> None:
        self._remove_listener = None

    def attach(self) -> None:
        """Nothing to attach."""

    async def detach(self) -> None:
        """Nothing to send."""

    def received(self, message: TaskiqMessage) -> None:
        """Nothing emitted."""

    def started(self, message: TaskiqMessage) -> None:
        """Nothing emitted."""

    def finished(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Nothing emitted."""


NO_EVENTS: TaskEvents = _NoEvents()
