"""`TaskView`: everything the task page shows about one id, read from the result backend.

The result backend keeps states, results and progress by task id; it keeps neither the
task's name nor its arguments (those travel only in the message), so the page shows
what was stored and says what was not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from taskiq.control import TaskStateRecord, task_states_of
from taskiq.exceptions import NotSupportedError, TaskiqError

#: Longest text the page shows of a return value or an error.
MAX_TEXT = 20_000


@dataclass(frozen=True)
class TaskView:
    """A task's state record, result, progress and where it runs now."""

    task_id: str
    record: TaskStateRecord | None = None
    states_error: str | None = None
    finished: bool = False
    is_err: bool = False
    return_value: str | None = None
    error: str | None = None
    traceback: str | None = None
    execution_time: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    progress: str | None = None
    running_on: str | None = None

    @property
    def known(self) -> bool:
        """Whether the backend knows anything about this id."""
        return self.record is not None or self.finished


async def task_view(broker: Any, task_id: str, running_on: str | None) -> TaskView:
    """Read the record, the result and the progress of ``task_id``."""
    record, states_error = await _record(broker, task_id)
    result = await _result(broker, task_id)
    progress = await _progress(broker, task_id)
    return TaskView(
        task_id, record, states_error, progress=progress, running_on=running_on, **result
    )


async def _record(broker: Any, task_id: str) -> tuple[TaskStateRecord | None, str | None]:
    try:
        return await task_states_of(broker).get_task_state(task_id), None
    except NotSupportedError as exc:
        return None, str(exc)


async def _result(broker: Any, task_id: str) -> dict[str, Any]:
    backend = broker.result_backend
    try:
        if not await backend.is_result_ready(task_id):
            return {}
        result = await backend.get_result(task_id)
    except TaskiqError as exc:
        return {"finished": True, "is_err": True, "error": f"Unreadable result: {exc}"}
    error = result.error
    return {
        "finished": True,
        "is_err": result.is_err,
        "return_value": None if result.is_err else as_text(result.return_value),
        "error": None if error is None else _cut(f"{type(error).__name__}: {error}"),
        "traceback": _traceback(error),
        "execution_time": result.execution_time,
        "labels": {str(key): _cut(as_text(value)) for key, value in result.labels.items()},
    }


async def _progress(broker: Any, task_id: str) -> str | None:
    try:
        progress = await broker.result_backend.get_progress(task_id)
    except TaskiqError:
        return None
    if progress is None:
        return None
    return as_text({"state": progress.state, "meta": progress.meta})


def _traceback(error: BaseException | None) -> str | None:
    """The worker's traceback as the error codec kept it, if it did."""
    while error is not None:
        text = getattr(error, "remote_traceback", None)
        if isinstance(text, str) and text:
            return _cut(text)
        error = error.__cause__
    return None


def as_text(value: Any) -> str:
    """A value as indented JSON (``repr`` for what JSON cannot say), cut to `MAX_TEXT`."""
    try:
        text = json.dumps(value, indent=2, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "\n… (cut)"
