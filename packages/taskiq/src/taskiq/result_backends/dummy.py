"""A backend that stores nothing, for brokers whose callers never read results."""

from __future__ import annotations

from typing import Any

from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.exceptions import NoResultError
from taskiq.result import TaskiqResult


class DummyResultBackend(AsyncResultBackend[Any]):
    """Discards results; ``is_result_ready`` is always False and ``get_result`` raises."""

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        """Discard the result."""

    async def is_result_ready(self, task_id: str) -> bool:
        """Never ready: nothing is stored."""
        return False

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        """Raise `NoResultError`: configure a real backend with ``with_result_backend``."""
        raise NoResultError(
            f"Task {task_id!r} has no stored result because the broker uses "
            "DummyResultBackend; configure one with broker.with_result_backend(...).",
            task_id=task_id,
        )
