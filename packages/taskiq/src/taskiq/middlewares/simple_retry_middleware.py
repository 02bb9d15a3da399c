"""Retry a failed task at once, under the same task id, a bounded number of times.

The retry is a new delivery of the same call (same task id, arguments and
labels) sent through the broker's normal path, so ``wait_result()`` in the
client sees the outcome of the *last* attempt. With ``no_result_on_retry``
(the default) the failed attempt's result is replaced by `NoResultError`,
which the receiver does not store: nothing reaches the client until the
task succeeds or runs out of retries.

Labels read from each task (they may arrive as strings):

- ``retry_on_error``: retry this task (default: ``default_retry_label``);
- ``max_retries``: how many runs in all, the first one included (default:
  ``default_retry_count``), as in Taskiq: ``max_retries=3`` allows two retries;
  0 or 1 means no retry;
- ``_retries``: how many retries were already sent (written by us).

A retried failure is logged once, at WARNING, with the attempt number and the
delay; the failure that uses up the last run is logged once, at ERROR (see
`taskiq.task_log`). Each retry is recorded as the task's ``retrying`` state
(`taskiq.control.task_states`) with the next attempt and when it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from taskiq import task_log
from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.context import TaskRequeuedError
from taskiq.control import task_states
from taskiq.exceptions import NoResultError, TaskCancelledError, TaskRejectedError
from taskiq.kicker import AsyncKicker
from taskiq.message import TaskiqMessage
from taskiq.middlewares._labels import label_bool, label_int
from taskiq.result import TaskiqResult

#: Label counting the retries already sent for a task id.
RETRIES_LABEL = "_retries"

#: Control-flow outcomes that are never worth retrying.
_NEVER_RETRIED: tuple[type[BaseException], ...] = (
    NoResultError,
    TaskCancelledError,
    TaskRejectedError,
    TaskRequeuedError,
)


class SimpleRetryMiddleware(TaskiqMiddleware):
    """Re-send a task that raised, immediately, up to ``max_retries`` times.

    ``types_of_exceptions`` limits retries to those exception types (and their
    subclasses); by default every exception is retried. A retry that cannot be
    sent is logged and the failed result is stored as is, so the client still
    learns about the failure.
    """

    def __init__(
        self,
        default_retry_count: int = 3,
        default_retry_label: bool = False,
        no_result_on_retry: bool = True,
        types_of_exceptions: Iterable[type[BaseException]] | type[BaseException] | None = None,
    ) -> None:
        self.default_retry_count = default_retry_count
        self.default_retry_label = default_retry_label
        self.no_result_on_retry = no_result_on_retry
        self.types_of_exceptions = _exception_types(types_of_exceptions)

    def should_retry(self, message: TaskiqMessage, exception: BaseException) -> bool:
        """Tell whether this task asks for retries and this exception qualifies."""
        if isinstance(exception, _NEVER_RETRIED):
            return False
        if self.types_of_exceptions is not None and not isinstance(
            exception,
            self.types_of_exceptions,
        ):
            return False
        return label_bool(message.labels, "retry_on_error", self.default_retry_label)

    def attempt_of(self, message: TaskiqMessage) -> tuple[int, int]:
        """This run's number (1 for the first) and how many runs ``max_retries`` allows."""
        attempt = label_int(message.labels, RETRIES_LABEL, 0) + 1
        return attempt, label_int(message.labels, "max_retries", self.default_retry_count)

    def next_retry(self, message: TaskiqMessage, exception: BaseException) -> int | None:
        """Number the retry to send now (1 for the first), or None: no retry."""
        if not self.should_retry(message, exception):
            return None
        attempt, runs = self.attempt_of(message)
        return attempt if attempt < runs else None

    def delay_before(self, message: TaskiqMessage, retry: int) -> float:
        """Seconds before retry number ``retry`` is run: none here, subclasses add delays."""
        return 0.0

    async def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        """Send the retry and log it, then hide this attempt's result if asked to."""
        if not self.should_retry(message, exception):
            return
        attempt, runs = self.attempt_of(message)
        if attempt >= runs:
            task_log.gave_up(message, result, exception, attempt, max(runs, 1))
            return
        delay = self.delay_before(message, attempt)
        retrying = task_states.retrying(attempt + 1, delay, exception)  # timed before the send
        await self.send_retry(message, attempt, result, delay)
        await task_states.record(self.broker, message.task_id, retrying)
        task_log.retrying(message, result, exception, attempt, runs, delay)
        if self.no_result_on_retry:
            result.error = NoResultError(
                f"Task {message.task_id!r} failed and was retried (retry {attempt}); "
                "wait for the retry's result.",
                task_id=message.task_id,
            )

    async def send_retry(
        self,
        message: TaskiqMessage,
        retry: int,
        result: TaskiqResult[Any],
        delay: float = 0.0,
    ) -> None:
        """Send retry number ``retry`` of the attempt that ended with ``result``.

        ``delay`` is what `delay_before` chose (ignored here: the retry goes now).
        Raising here leaves ``result`` (the failure) to be stored as usual.
        """
        await self.retry_kicker(message, retry).kiq(*message.args, **message.kwargs)

    def retry_labels(self, message: TaskiqMessage, retry: int) -> dict[str, Any]:
        """The labels of the retry: the task's own, with the retry counted."""
        return {**message.labels, RETRIES_LABEL: retry}

    def retry_kicker(
        self,
        message: TaskiqMessage,
        retry: int,
        **labels: Any,
    ) -> AsyncKicker[Any, Any]:
        """A kicker that re-sends ``message`` under its own task id."""
        all_labels = {**self.retry_labels(message, retry), **labels}
        kicker: AsyncKicker[Any, Any] = AsyncKicker(message.task_name, self.broker, all_labels)
        return kicker.with_task_id(message.task_id)


def _exception_types(
    types: Iterable[type[BaseException]] | type[BaseException] | None,
) -> tuple[type[BaseException], ...] | None:
    """Normalise ``types_of_exceptions``; a single class is accepted too."""
    if types is None:
        return None
    found = (types,) if isinstance(types, type) else tuple(types)
    for item in found:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(
                f"types_of_exceptions must hold exception classes, got {item!r}; "
                "for example types_of_exceptions=[ConnectionError, TimeoutError].",
            )
    return found
