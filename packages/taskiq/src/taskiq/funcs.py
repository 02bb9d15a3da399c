"""Helpers that work on several sent tasks at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from taskiq.exceptions import TaskiqResultTimeoutError

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.result import TaskiqResult
    from taskiq.task import AsyncTaskiqTask


async def gather(
    *tasks: AsyncTaskiqTask[Any],
    timeout: float = -1,
    with_logs: bool = False,
    periodicity: float = 0.1,
) -> tuple[TaskiqResult[Any], ...]:
    """Wait for every task and return their results in the order the tasks were given.

    ``timeout`` bounds the whole wait (negative: wait forever); when it runs out,
    `TaskiqResultTimeoutError` is raised and no partial results are returned.
    ``periodicity`` is the longest pause between two polls of backends that
    cannot push readiness. Failed tasks are returned as results with
    ``is_err=True``, not raised: call ``raise_for_error()`` on each if needed.
    """
    waits = [
        asyncio.ensure_future(task.wait_result(check_interval=periodicity, with_logs=with_logs))
        for task in tasks
    ]
    try:
        return tuple(await _wait_all(waits, timeout))
    finally:
        for wait in waits:
            wait.cancel()


async def _wait_all(
    waits: Sequence[Awaitable[TaskiqResult[Any]]],
    timeout: float,
) -> list[TaskiqResult[Any]]:
    """Await every wait; a failure or the timeout leaves the rest to the caller to cancel."""
    everything = asyncio.gather(*waits)
    if timeout < 0:
        return await everything
    try:
        return await asyncio.wait_for(everything, timeout)
    except asyncio.TimeoutError:
        raise TaskiqResultTimeoutError(timeout=timeout) from None
