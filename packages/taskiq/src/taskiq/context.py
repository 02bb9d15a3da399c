"""What a running task can learn about, and do with, its own delivery."""

from __future__ import annotations

import logging
from typing import NoReturn, Protocol

# Imported at run time, not under TYPE_CHECKING: the dependency injector reads
# these annotations of ``Context.__init__`` when a task asks for a Context.
from taskiq.abc.broker import AsyncBroker
from taskiq.exceptions import NoResultError, TaskCancelledError, TaskRejectedError
from taskiq.message import TaskiqMessage
from taskiq.state import TaskiqState

logger = logging.getLogger("taskiq.context")

#: Label counting how many times a message was requeued by `Context.requeue`.
REQUEUE_LABEL = "X-Taskiq-requeue"


class Acknowledger(Protocol):
    """The part of a delivery a task may settle itself (see `taskiq.receiver.Delivery`)."""

    async def ack(self) -> None:
        """Acknowledge the delivery (idempotent)."""


class Context:
    """Injected with ``context: Context = TaskiqDepends()`` (or the ``Annotated`` form).

    ``message`` is the decoded call, ``broker`` the broker that delivered it and
    ``state`` the worker's `TaskiqState`.
    """

    def __init__(
        self,
        message: TaskiqMessage,
        broker: AsyncBroker,
        delivery: Acknowledger | None = None,
    ) -> None:
        self.message = message
        self.broker = broker
        self.state: TaskiqState = broker.state
        self._delivery = delivery

    @property
    def requeue_count(self) -> int:
        """How many times this message was requeued with `requeue` before this run."""
        return _as_count(self.message.labels.get(REQUEUE_LABEL, 0))

    async def requeue(self) -> NoReturn:
        """Send this same message (same task id) again and end the current run.

        The ``X-Taskiq-requeue`` label counts requeues so that a task can give up
        after a few. This run stores no result, the original delivery is acked,
        and nothing after the call runs: it raises `TaskRequeuedError`, which the
        receiver handles (do not catch it in the task).
        """
        self.message.labels[REQUEUE_LABEL] = self.requeue_count + 1
        await self.broker.kick(self.broker.formatter.dumps(self.message))
        raise TaskRequeuedError(task_id=self.message.task_id)

    def reject(self) -> NoReturn:
        """Refuse this message for good and end the current run.

        The delivery is rejected (dead-lettered where the broker can, otherwise
        dropped) and an error result with `TaskRejectedError` is stored so that a
        waiting client does not wait forever. Raises `TaskRejectedError`.
        """
        raise TaskRejectedError

    @property
    def cancelled(self) -> bool:
        """True once a request to cancel this running task has reached its worker.

        For sync tasks, which cannot be interrupted: poll it and return (or call
        `raise_if_cancelled`). The outcome is stored as cancelled either way. An
        async task is cancelled at its next await as well. See docs/task-control.md.
        """
        from taskiq.receiver.cancelling import cancel_delivered

        return cancel_delivered(self.message.task_id)

    def raise_if_cancelled(self) -> None:
        """Raise `TaskCancelledError` if `cancelled`: one call per loop of a sync task."""
        if self.cancelled:
            raise TaskCancelledError(task_id=self.message.task_id)

    async def ack(self) -> None:
        """Acknowledge the delivery now; for ``ack_type="manual"``. Later calls do nothing."""
        if self._delivery is not None:
            await self._delivery.ack()


class TaskRequeuedError(NoResultError):
    """The task requeued itself with `Context.requeue`; this run stores no result."""

    __template__ = "Task {task_id!r} requeued itself; this run stores no result."


def _as_count(raw: object) -> int:
    try:
        return max(int(str(raw)), 0)
    except ValueError:
        logger.warning("Ignoring a malformed %s label: %r.", REQUEUE_LABEL, raw)
        return 0
