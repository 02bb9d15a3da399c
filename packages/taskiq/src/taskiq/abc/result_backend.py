"""Where task results and progress are stored, and how a client waits for them.

A backend implements the storage primitives (`set_result`, `get_result`,
`is_result_ready`, progress). Waiting is written once, here: `wait_until_ready`
applies the timeout and calls `wait_for_ready`, which polls with a short
backoff by default. A backend that can push readiness (pub/sub, a KV watch,
an in-process event) overrides `wait_for_ready` so that `wait_result()`
returns as soon as the result is stored instead of on the next poll.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from taskiq.exceptions import TaskiqResultTimeoutError

# Imported at run time: backends written for Taskiq import it from this module.
from taskiq.result import TaskiqResult as TaskiqResult

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.depends.progress_tracker import TaskProgress

_ReturnType = TypeVar("_ReturnType")

#: The first poll interval of the default `wait_for_ready`; it doubles up to
#: the caller's ``check_interval``.
FIRST_POLL_INTERVAL = 0.001


class AsyncResultBackend(ABC, Generic[_ReturnType]):
    """Stores `TaskiqResult` objects by task id."""

    async def startup(self) -> None:
        """Open connections; called from ``broker.startup()``."""

    async def shutdown(self) -> None:
        """Close connections; called from ``broker.shutdown()``."""

    @abstractmethod
    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        """Store the result of a finished task."""

    @abstractmethod
    async def is_result_ready(self, task_id: str) -> bool:
        """Tell whether a result is stored for ``task_id``."""

    @abstractmethod
    async def get_result(
        self,
        task_id: str,
        with_logs: bool = False,
    ) -> TaskiqResult[_ReturnType]:
        """Return the stored result; raise `NoResultError` if there is none."""

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        """Store the progress of a running task; backends without progress ignore it."""

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        """Return the last stored progress, or None."""
        return None

    async def delete_result(self, task_id: str) -> None:
        """Forget the result (and progress) of ``task_id``; backends that cannot, say so."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot delete results; let them expire instead.",
        )

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        """Return once the result of ``task_id`` is stored.

        Polls ``is_result_ready`` from 1 ms, doubling up to ``check_interval``
        (never below 1 ms, so ``check_interval=0`` cannot spin the event loop).
        Override to push readiness instead; the timeout is applied by the caller.
        """
        longest = max(check_interval, FIRST_POLL_INTERVAL)
        delay = FIRST_POLL_INTERVAL
        while not await self.is_result_ready(task_id):
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)

    async def wait_until_ready(
        self,
        task_id: str,
        *,
        check_interval: float = 0.2,
        timeout: float | None = None,
    ) -> None:
        """Wait for the result; raise `TaskiqResultTimeoutError` after ``timeout`` s."""
        if timeout is None or timeout < 0:
            await self.wait_for_ready(task_id, check_interval)
            return
        try:
            await asyncio.wait_for(self.wait_for_ready(task_id, check_interval), timeout)
        except asyncio.TimeoutError:
            raise TaskiqResultTimeoutError(timeout=timeout) from None
