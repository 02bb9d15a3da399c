"""A handle on a sent task: check, fetch or wait for its result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from taskiq.exceptions import ResultGetError, TaskiqError

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.result_backend import AsyncResultBackend
    from taskiq.control.cancellation import CancelOutcome
    from taskiq.control.task_states import TaskStateRecord
    from taskiq.depends.progress_tracker import TaskProgress
    from taskiq.result import TaskiqResult

_ReturnType = TypeVar("_ReturnType")


class AsyncTaskiqTask(Generic[_ReturnType]):
    """Returned by ``kiq()``; talks to the broker's result backend."""

    def __init__(self, task_id: str, result_backend: AsyncResultBackend[_ReturnType]) -> None:
        self.task_id = task_id
        self.result_backend = result_backend

    async def is_ready(self) -> bool:
        """Tell whether the result is stored."""
        return await self.result_backend.is_result_ready(self.task_id)

    async def get_result(self, with_logs: bool = False) -> TaskiqResult[_ReturnType]:
        """Fetch the stored result; raises `NoResultError` if there is none yet.

        Taskiq's own errors (`NoResultError`, `SecurityError` for a forged
        stored error, ...) pass through; anything else the backend raises
        becomes `ResultGetError` chained from it.
        """
        try:
            return await self.result_backend.get_result(self.task_id, with_logs=with_logs)
        except TaskiqError:
            raise
        except Exception as exc:
            raise ResultGetError(task_id=self.task_id, reason=repr(exc)) from exc

    async def wait_result(
        self,
        check_interval: float = 0.2,
        timeout: float = -1.0,
        with_logs: bool = False,
    ) -> TaskiqResult[_ReturnType]:
        """Wait until the result is stored and return it.

        Backends that push readiness return at once; others are polled, at most
        every ``check_interval`` seconds. ``timeout`` < 0 waits forever;
        otherwise `TaskiqResultTimeoutError` is raised after that many seconds.
        """
        await self.result_backend.wait_until_ready(
            self.task_id,
            check_interval=check_interval,
            timeout=timeout,
        )
        return await self.get_result(with_logs=with_logs)

    async def get_progress(self) -> TaskProgress[Any] | None:
        """Return the progress the task last reported, or None."""
        return await self.result_backend.get_progress(self.task_id)

    async def get_state(self) -> TaskStateRecord | None:
        """The task's state and timeline (see `taskiq.control.task_states`).

        None when the backend knows nothing of this id (its state expired, or states
        are off); a task still waiting for a worker is ``TaskStatus.QUEUED``. Raises
        `NotSupportedError` when the result backend keeps no states.
        """
        from taskiq.control.task_states import task_states_of

        return await task_states_of(self.result_backend).get_task_state(self.task_id)

    async def cancel(self) -> CancelOutcome:
        """Ask that this task never starts, or stops if it runs (docs/task-control.md).

        Returns `CancelOutcome.REQUESTED`, or says that the task had already
        finished, was already cancelled, or is unknown; never raises for those.
        Raises `NotSupportedError` when the result backend cannot hold claims.
        """
        from taskiq.control.cancellation import request_cancel

        return await request_cancel(self.result_backend, self.task_id)

    def __repr__(self) -> str:
        return f"AsyncTaskiqTask(task_id={self.task_id!r})"
