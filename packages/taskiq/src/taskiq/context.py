"""What a running task can learn about, and do with, its own delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskiq.exceptions import TaskiqError, TaskRejectedError

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.message import TaskiqMessage
    from taskiq.state import TaskiqState

#: Label counting how many times a message was requeued by `Context.requeue`.
REQUEUE_LABEL = "X-Taskiq-requeue"


class Context:
    """Injected with ``context: Context = TaskiqDepends()``.

    ``message`` is the decoded call, ``broker`` the broker that delivered it and
    ``state`` the worker's `TaskiqState`.
    """

    def __init__(self, message: TaskiqMessage, broker: AsyncBroker) -> None:
        self.message = message
        self.broker = broker
        self.state: TaskiqState = broker.state
        self.acked = False
        self._ack: Any = None

    async def requeue(self) -> None:
        """Send this same message again and stop the current run.

        The ``X-Taskiq-requeue`` label counts requeues so a task can give up.
        Nothing after it runs: it raises a control exception the receiver handles.
        """
        count = int(self.message.labels.get(REQUEUE_LABEL, 0)) + 1
        self.message.labels[REQUEUE_LABEL] = count
        await self.broker.kick(self.broker.formatter.dumps(self.message))
        raise TaskRequeuedError

    def reject(self) -> None:
        """Drop this message: it is not retried, and dead-lettered where the broker can."""
        raise TaskRejectedError

    async def ack(self) -> None:
        """Acknowledge now (for ``ack_type="manual"``); later calls do nothing."""
        if self.acked or self._ack is None:
            self.acked = True
            return
        self.acked = True
        result = self._ack()
        if result is not None:
            await result


class TaskRequeuedError(TaskiqError):
    """Internal: the task requeued itself; no result is stored for this run."""

    __template__ = "The task requeued itself; this run stores no result."
