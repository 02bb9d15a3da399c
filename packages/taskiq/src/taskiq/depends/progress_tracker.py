"""Lets a running task report its progress through the result backend."""

from __future__ import annotations

import enum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, field_validator
from taskiq_dependencies import Depends

from taskiq.context import Context

_ProgressType = TypeVar("_ProgressType")


class TaskState(str, enum.Enum):
    """Where a task is in its life."""

    STARTED = "STARTED"
    FAILURE = "FAILURE"
    SUCCESS = "SUCCESS"
    RETRY = "RETRY"


class TaskProgress(BaseModel, Generic[_ProgressType]):
    """A progress report: a state (one of `TaskState` or your own) and free-form meta.

    A stored state that names a `TaskState` comes back as that member, so
    ``progress.state is TaskState.STARTED`` holds after a round trip.
    """

    state: TaskState | str
    meta: _ProgressType | None = None

    @field_validator("state", mode="before")
    @classmethod
    def _known_state(cls, value: Any) -> Any:
        if isinstance(value, str) and value in TaskState.__members__:
            return TaskState(value)
        return value


class ProgressTracker(Generic[_ProgressType]):
    """Inject with ``tracker: ProgressTracker[dict] = TaskiqDepends()``."""

    def __init__(self, context: Context = Depends()) -> None:
        self.context = context

    async def set_progress(
        self,
        state: TaskState | str,
        meta: _ProgressType | None = None,
    ) -> None:
        """Store a progress report that ``task.get_progress()`` returns to the client."""
        progress: TaskProgress[Any] = TaskProgress(state=state, meta=meta)
        await self.context.broker.result_backend.set_progress(
            self.context.message.task_id,
            progress,
        )

    async def get_progress(self) -> TaskProgress[_ProgressType] | None:
        """Return the last progress report of this task."""
        return await self.context.broker.result_backend.get_progress(
            self.context.message.task_id,
        )
