"""One log line for every task a worker ran: what happened to it, on logger ``taskiq.tasks``.

- success: DEBUG, ``Task app:add[<id>] succeeded in 0.003 s: 8``;
- failure: ERROR with the traceback, ``Task app:boom[<id>] failed in 0.002 s: ValueError: ...``;
- timeout: ERROR naming the ``timeout`` label that was hit (no traceback: the task
  was stopped from outside, its own frames say nothing);
- a failure that a retry middleware sends again: one WARNING with the attempt
  number and the delay, instead of the ERROR; retries exhausted: one ERROR.

The receiver reports successes and failures; the retry middlewares report the
failures they handle (`retrying`, `gave_up`) inside `failure_report`, which then
stays silent. The success line is formatted only when DEBUG is enabled, so the
default level costs one level check per task.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import reprlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from taskiq.exceptions import NoResultError, TaskTimeoutError

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.message import TaskiqMessage
    from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.tasks")

#: Set by `retrying`/`gave_up` while `failure_report` is open: the failure has its line.
_reported: contextvars.ContextVar[bool] = contextvars.ContextVar("taskiq_failure_reported")
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80


def succeeded(message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
    """Log the DEBUG success line (nothing is formatted at higher levels)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "Task %s[%s] succeeded in %.3f s: %s",
            message.task_name,
            message.task_id,
            result.execution_time,
            _short.repr(result.return_value),
        )


@contextlib.contextmanager
def failure_report(
    message: TaskiqMessage,
    result: TaskiqResult[Any],
    error: BaseException,
) -> Iterator[None]:
    """Around the ``on_error`` hooks: log the failure at ERROR unless a middleware did."""
    token = _reported.set(False)
    try:
        yield
    finally:
        reported = _reported.get()
        _reported.reset(token)
    if not reported and not isinstance(result.error, NoResultError):
        _log(logging.ERROR, message, result, error, "")


def retrying(
    message: TaskiqMessage,
    result: TaskiqResult[Any],
    error: BaseException,
    attempt: int,
    runs: int,
    delay: float,
) -> None:
    """Log the one WARNING of a failure that is sent again (attempt counts from 1)."""
    when = "now" if delay <= 0 else f"in {delay:.3g} s"
    _log(logging.WARNING, message, result, error, f" (attempt {attempt} of {runs}; retry {when})")
    _reported.set(True)


def gave_up(
    message: TaskiqMessage,
    result: TaskiqResult[Any],
    error: BaseException,
    attempt: int,
    runs: int,
) -> None:
    """Log the one ERROR of a failure whose retries are used up."""
    _log(logging.ERROR, message, result, error, f" (attempt {attempt} of {runs}; no retry left)")
    _reported.set(True)


def _log(
    level: int,
    message: TaskiqMessage,
    result: TaskiqResult[Any],
    error: BaseException,
    suffix: str,
) -> None:
    if isinstance(error, TaskTimeoutError):
        logger.log(
            level,
            "Task %s[%s] timed out: it ran past its timeout label of %s s and was stopped%s",
            message.task_name,
            message.task_id,
            error.details.get("timeout"),
            suffix,
        )
        return
    logger.log(
        level,
        "Task %s[%s] failed in %.3f s%s: %s: %s",
        message.task_name,
        message.task_id,
        result.execution_time,
        suffix,
        type(error).__name__,
        error,
        exc_info=error,
    )
