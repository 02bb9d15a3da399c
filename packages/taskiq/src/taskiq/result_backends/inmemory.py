"""Results and task states kept in this process, bounded, with readiness pushed to waiters."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.control.claims import ClaimStore
from taskiq.control.events import EventFeed
from taskiq.control.pacing import InmemoryPaceStore, PaceStore
from taskiq.control.task_states import TaskStateRecord, TaskTransition
from taskiq.control.workers import WorkerRegistry
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.exceptions import NoResultError
from taskiq.result import TaskiqResult
from taskiq.result_backends.inmemory_claims import InmemoryClaimStore
from taskiq.result_backends.inmemory_events import InmemoryEventFeed
from taskiq.result_backends.inmemory_workers import InmemoryWorkerRegistry

#: How many results an in-memory backend keeps before evicting the oldest.
DEFAULT_MAX_STORED_RESULTS = 100
#: The fewest task states it keeps (states of queued tasks come before any result).
MIN_STORED_STATES = 1000


class InmemoryResultBackend(AsyncResultBackend[Any]):
    """Keeps the newest ``max_stored_results`` results (``-1``: unbounded).

    A waiter is woken the moment its result is stored. Reading an evicted
    result raises `NoResultError` saying it was evicted and how to keep more.
    Task states are kept for the newest ``max(max_stored_results, 1000)`` tasks.
    """

    def __init__(self, max_stored_results: int = DEFAULT_MAX_STORED_RESULTS) -> None:
        self.max_stored_results = max_stored_results
        self.results: OrderedDict[str, TaskiqResult[Any]] = OrderedDict()
        self.progress: dict[str, TaskProgress[Any]] = {}
        self._waiters: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = {}
        self._evicted: OrderedDict[str, None] = OrderedDict()
        self._workers = InmemoryWorkerRegistry()
        self._claims = InmemoryClaimStore()
        self._pacing = InmemoryPaceStore()
        self._events = InmemoryEventFeed()
        self.states: OrderedDict[str, list[TaskTransition]] = OrderedDict()

    def worker_registry(self) -> WorkerRegistry:
        """Heartbeats of the workers in this process (`taskiq.control.workers`)."""
        return self._workers

    def claim_store(self) -> ClaimStore:
        """Claims held in this process (`taskiq.control.claims`)."""
        return self._claims

    def pace_store(self) -> PaceStore:
        """Rate-limit turns handed out in this process (`taskiq.control.pacing`)."""
        return self._pacing

    def event_feed(self) -> EventFeed:
        """Events of the workers in this process (`taskiq.control.events`)."""
        return self._events

    async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
        """Store the result, evicting the oldest beyond the bound, and wake waiters."""
        self.results[task_id] = result
        self.results.move_to_end(task_id)
        while 0 <= self.max_stored_results < len(self.results):
            evicted, _ = self.results.popitem(last=False)
            self.progress.pop(evicted, None)
            self._remember_eviction(evicted)
        waiter = self._waiters.pop(task_id, None)
        if waiter is not None:
            waiter.set()

    def _remember_eviction(self, task_id: str) -> None:
        self._evicted[task_id] = None
        while len(self._evicted) > max(self.max_stored_results, 1000):
            self._evicted.popitem(last=False)

    async def is_result_ready(self, task_id: str) -> bool:
        """Tell whether the result is stored (an evicted one counts as ready)."""
        return task_id in self.results or task_id in self._evicted

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
        """Return the stored result; raise `NoResultError` if missing or evicted."""
        try:
            return self.results[task_id]
        except KeyError:
            if task_id in self._evicted:
                raise NoResultError(
                    f"The result of task {task_id!r} was evicted: the in-memory backend keeps "
                    f"only the newest {self.max_stored_results} results. Raise "
                    "max_stored_results (or -1 for no bound) to keep more.",
                    task_id=task_id,
                ) from None
            raise NoResultError(task_id=task_id) from None

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        """Store the progress of a running task."""
        self.progress[task_id] = progress

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        """Return the last stored progress, or None."""
        return self.progress.get(task_id)

    async def delete_result(self, task_id: str) -> None:
        """Forget the result and progress; afterwards the result is not ready."""
        self.results.pop(task_id, None)
        self.progress.pop(task_id, None)
        self.states.pop(task_id, None)
        self._evicted.pop(task_id, None)

    async def record_task_state(self, task_id: str, transition: TaskTransition) -> None:
        """Append ``transition`` to the task's timeline; the oldest task beyond the bound goes."""
        timeline = self.states.get(task_id)
        if timeline is None:
            timeline = self.states[task_id] = []
            bound = max(self.max_stored_results, MIN_STORED_STATES)
            while self.max_stored_results >= 0 and len(self.states) > bound:
                self.states.popitem(last=False)
        timeline.append(transition)

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        """The task's state; None for an id never recorded (or forgotten)."""
        timeline = self.states.get(task_id)
        return None if timeline is None else TaskStateRecord.of(task_id, timeline)

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        """Return as soon as the result is stored: no polling.

        A waiter that gives up (timeout, cancellation) leaves nothing behind.
        """
        if await self.is_result_ready(task_id):
            return
        waiter = self._waiters.setdefault(task_id, asyncio.Event())
        self._waiting[task_id] = self._waiting.get(task_id, 0) + 1
        try:
            await waiter.wait()
        finally:
            self._forget_waiter(task_id)

    def _forget_waiter(self, task_id: str) -> None:
        left = self._waiting.pop(task_id, 1) - 1
        if left > 0:
            self._waiting[task_id] = left
        else:
            self._waiters.pop(task_id, None)
