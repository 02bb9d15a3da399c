"""The receiver's task-state records: started, succeeded or failed, dead-lettered.

Chosen once per `Receiver.listen` (`StateRecords.of`): a broker with states off,
or whose result backend keeps none, gets `NO_RECORDS`, which costs a method call
per task. Retries are recorded by the retry middlewares, which know the attempt
and the delay.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from taskiq.control.task_states import (
    BackgroundRecords,
    SupportsTaskStates,
    TaskStatus,
    TaskTransition,
    on_dead_lettered,
    recorder_of,
    utc_now,
)
from taskiq.control.workers import WorkerId
from taskiq.driver_errors import one_line
from taskiq.exceptions import NoResultError, TaskCancelledError, TaskRejectedError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from taskiq.abc.broker import AsyncBroker
    from taskiq.message import TaskiqMessage
    from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.task_states")
#: The retry middlewares' count of retries already sent (`SimpleRetryMiddleware`).
RETRIES_LABEL = "_retries"


class StateRecords:
    """Writes the worker's transitions of each task to the result backend."""

    def __init__(self, broker: AsyncBroker, store: SupportsTaskStates) -> None:
        self.store = store
        self.background = BackgroundRecords(broker)
        self._remove_listener: Callable[[], None] | None = None

    @staticmethod
    def of(broker: AsyncBroker) -> StateRecords:
        """The records for ``broker``: `NO_RECORDS` when it records no states."""
        store = recorder_of(broker)
        return NO_RECORDS if store is None else StateRecords(broker, store)

    def attach(self) -> None:
        """Start recording the dead letters of this process (see `on_dead_lettered`)."""
        if self._remove_listener is None:
            self._remove_listener = on_dead_lettered(self.background.dead_lettered)

    async def detach(self) -> None:
        """Stop recording dead letters; wait for the ones scheduled."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        await self.background.wait()

    async def started(self, message: TaskiqMessage) -> None:
        """The task starts here, now."""
        transition = TaskTransition(
            status=TaskStatus.STARTED,
            time=utc_now(),
            worker=WorkerId.current(),
            attempt=_attempt(message),
        )
        await self._write(message.task_id, transition)

    async def finished(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """The task succeeded, failed or was cancelled (a retried or rejected run: nothing)."""
        error = result.error
        if isinstance(error, (NoResultError, TaskRejectedError)):
            return  # retrying (the middleware wrote it) or dead-lettered (the broker says so)
        transition = TaskTransition(
            status=_final_status(error),
            time=utc_now(),
            worker=WorkerId.current(),
            attempt=_attempt(message),
            error=None if error is None else one_line(error),
        )
        await self._write(message.task_id, transition)

    async def _write(self, task_id: str, transition: TaskTransition) -> None:
        try:
            await self.store.record_task_state(task_id, transition)
        except Exception as exc:  # a state is for watchers: the task goes on
            status = transition.status.value
            logger.warning("Could not record task %s as %s: %s", task_id, status, exc)


class _NoRecords(StateRecords):
    """Records nothing: states are off, or the backend keeps none."""

    def __init__(self) -> None:
        self._remove_listener = None

    def attach(self) -> None:
        """Nothing to attach."""

    async def detach(self) -> None:
        """Nothing to detach."""

    async def started(self, message: TaskiqMessage) -> None:
        """Nothing recorded."""

    async def finished(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Nothing recorded."""


NO_RECORDS: StateRecords = _NoRecords()


def _final_status(error: BaseException | None) -> TaskStatus:
    if error is None:
        return TaskStatus.SUCCEEDED
    return TaskStatus.CANCELLED if isinstance(error, TaskCancelledError) else TaskStatus.FAILED


def _attempt(message: TaskiqMessage) -> int:
    retries = message.labels.get(RETRIES_LABEL, 0)
    try:
        return int(retries) + 1
    except (TypeError, ValueError):
        return 1
