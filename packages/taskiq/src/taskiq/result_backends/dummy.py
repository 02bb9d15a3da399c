"""A backend that stores nothing, for brokers whose callers never read results.

As in Taskiq, every result is "ready" at once and reads back as a success with
``return_value=None``: a program written for a broker without a result backend
(Taskiq's getting-started guide prints "Returned value: None") finishes instead
of waiting forever. The first read logs a warning saying how to get real results.
"""

from __future__ import annotations

import logging
from typing import Any

from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.result_backends")


class DummyResultBackend(AsyncResultBackend[Any]):
    """Discards results; every read returns an empty success (``return_value=None``)."""

    def __init__(self) -> None:
        self._warned = False

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        """Discard the result."""

    async def is_result_ready(self, task_id: str) -> bool:
        """Always ready: there is nothing to wait for."""
        return True

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        """Return an empty success; the task's real outcome is not stored anywhere."""
        self._warn_once()
        return TaskiqResult(is_err=False, log=None, return_value=None, execution_time=0.0)

    async def delete_result(self, task_id: str) -> None:
        """Nothing is stored, so nothing to delete."""

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "This broker has no result backend, so results read back as None. "
                "Configure one with broker.with_result_backend(...) to get real results.",
            )
