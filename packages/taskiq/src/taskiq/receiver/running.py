"""Which tasks this process is running now, readable from any thread.

The receiver records each task run here (`started`, `finished`); threads that watch the
event loop (`taskiq.receiver.loop_watchdog`, the brokers' keep-alive threads)
read it to say which task blocks the loop and whether it has outrun its
``timeout`` label; the worker heartbeat (`taskiq.cli.worker.heartbeat`) reads it
and the finished/failed counts. Recording is one dict insert and one delete per task.
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any


@dataclass(frozen=True)
class RunningTask:
    """One task run in progress: its name, id, when it started and its timeout (s)."""

    name: str
    task_id: str
    started: float
    timeout: float | None
    code: CodeType | None

    def overdue(self, now: float | None = None) -> bool:
        """True once the task has run longer than its ``timeout`` label allows."""
        if self.timeout is None:
            return False
        return (time.monotonic() if now is None else now) - self.started > self.timeout


_running: dict[int, RunningTask] = {}
_tokens = itertools.count()
#: Task runs finished since the process started, and how many of them raised.
_finished = [0, 0]


def started(name: str, task_id: str, func: Any, timeout: float | None) -> int:
    """Record that a task run began; pass the returned token to `finished`."""
    token = next(_tokens)
    code = getattr(func, "__code__", None)
    _running[token] = RunningTask(name, task_id, time.monotonic(), timeout, code)
    return token


def finished(token: int) -> None:
    """Forget the task run recorded under ``token`` (and count it as finished)."""
    if _running.pop(token, None) is not None:
        _finished[0] += 1


def failed(token: int) -> None:
    """Count the run under ``token`` as failed; call before `finished`."""
    if token in _running:
        _finished[1] += 1


def finished_counts() -> tuple[int, int]:
    """(task runs finished, of which failed) since the process started."""
    return _finished[0], _finished[1]


def running_tasks() -> list[RunningTask]:
    """Every task run in progress (a copy: safe to call from another thread)."""
    return list(_running.values())


def task_on_stack(thread_id: int) -> tuple[RunningTask | None, str]:
    """The running task whose code is on ``thread_id``'s stack now, and where that thread is.

    Called from a watchdog thread while the loop thread is blocked: the blocking
    call's caller chain then contains the frame of the task function that made it.
    """
    frame = sys._current_frames().get(thread_id)
    where = _location(frame)
    codes: set[CodeType] = set()
    while frame is not None:
        codes.add(frame.f_code)
        frame = frame.f_back
    for task in running_tasks():
        if task.code is not None and task.code in codes:
            return task, where
    return None, where


def _location(frame: FrameType | None) -> str:
    if frame is None:
        return "an unknown place"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"
