"""Calls a task function: async ones on the event loop, sync ones in an executor.

The ``timeout`` label bounds the call. An async task is cancelled when it runs
out of time. A sync task runs in a thread (or process) that Python cannot
stop: its result reports the timeout at once, but the function keeps running
in the background until it returns on its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from taskiq.exceptions import TaskTimeoutError
from taskiq.time_labels import received_timeout

logger = logging.getLogger("taskiq.receiver")

#: Common return types, checked first: the awaitable check costs more (abstract classes).
_NEVER_AWAITABLE = frozenset({type(None), bool, int, float, str, bytes, list, dict, tuple})


def timeout_from_labels(labels: Mapping[str, Any], task_name: str = "?") -> float | None:
    """The ``timeout`` label in seconds; None if absent or unusable, capped (`time_labels`)."""
    return received_timeout(labels, task_name)


async def call_task(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    is_async: bool,
    executor: Executor | None,
    timeout: float | None,
    task_name: str,
) -> Any:
    """Run ``func`` with the bound arguments; raise `TaskTimeoutError` past ``timeout``.

    For a sync task ``func`` should be the decorated task object (which pickles by
    reference) so that a ``ProcessPoolExecutor`` can run it.
    """
    if is_async:
        call: Awaitable[Any] = func(*args, **kwargs)
    else:
        call = asyncio.get_running_loop().run_in_executor(
            executor,
            _sync_call(func, args, kwargs, executor),
        )
    value = await (_bounded(call, timeout, task_name) if timeout else call)
    if type(value) not in _NEVER_AWAITABLE and inspect.isawaitable(value):
        # a sync callable that returned a coroutine
        value = await value
    return value


def _sync_call(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    executor: Executor | None,
) -> Callable[[], Any]:
    """Bind the call; in threads, run it in a copy of the current context.

    Context variables (the task's OpenTelemetry span, for one) then reach the
    sync function as they reach async ones. A process pool gets the bare call:
    a context cannot be pickled.
    """
    if isinstance(executor, ProcessPoolExecutor) or getattr(executor, "runs_in_processes", False):
        return functools.partial(func, *args, **kwargs)
    return functools.partial(contextvars.copy_context().run, func, *args, **kwargs)


async def _bounded(call: Awaitable[Any], timeout: float, task_name: str) -> Any:
    # Not asyncio.wait_for: a task that raises TimeoutError itself must keep its own error.
    running = asyncio.ensure_future(call)
    try:
        done, _ = await asyncio.wait({running}, timeout=timeout)
    except asyncio.CancelledError:
        running.cancel()
        raise
    if not done:
        running.cancel()
        await asyncio.wait({running})  # let an async task run its finally blocks
        raise TaskTimeoutError(task_name=task_name, timeout=timeout)
    return running.result()
