"""Task states: where a task is in its life, kept beside its result in the result backend.

A task moves through `TaskStatus` values: ``queued`` (written cheaply by ``kiq``),
``started`` (by the worker, naming it), ``retrying`` (by the retry middlewares,
with the next attempt and when it runs), then ``succeeded`` / ``failed``, or
``dead_lettered`` (wherever a broker dead-letters it, through
`taskiq.control.log_dead_lettered`), or ``cancelled`` (the worker, on a request of
`taskiq.control.cancellation`).

Each change is a `TaskTransition` appended to the task's timeline; reading the
state returns a `TaskStateRecord` (the timeline and what it adds up to). An id
the backend knows nothing of reads as ``None``: never sent, sent elsewhere, or
its state expired with its result. A task waiting for a worker reads as a record
whose status is ``queued``, so the two are never confused.

Result backends that keep states implement `SupportsTaskStates`; `task_states_of`
finds it or says in one line that the backend cannot. Recording is on by default;
``broker.with_task_states(False)`` turns it off for a broker.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from taskiq.control.workers import WorkerId
from taskiq.driver_errors import one_line
from taskiq.exceptions import NotSupportedError

logger = logging.getLogger("taskiq.task_states")


class TaskStatus(str, Enum):
    """Where a task is in its life (the values are what JSON and backends store)."""

    QUEUED = "queued"
    STARTED = "started"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Cancelled on request (`taskiq.control.cancellation`), before or while it ran.
    CANCELLED = "cancelled"
    DEAD_LETTERED = "dead_lettered"

    @property
    def is_final(self) -> bool:
        """True when nothing more happens to the task unless someone acts (replay, retry)."""
        return self in _FINAL


_FINAL = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.DEAD_LETTERED},
)


@dataclass(frozen=True)
class TaskTransition:
    """One change of state: what, when (aware UTC), and what is known about it.

    - ``worker``: who started it, retried it or finished it (None at kiq).
    - ``attempt``: the run this is about, 1 for the first; for ``retrying`` the
      run that comes next.
    - ``next_run``: for ``retrying``, when the next attempt is due (None: now).
    - ``error``: for ``failed`` and ``retrying``, the task's error in one line;
      for ``dead_lettered``, the reason.
    """

    status: TaskStatus
    time: datetime.datetime
    worker: WorkerId | None = None
    attempt: int | None = None
    next_run: datetime.datetime | None = None
    error: str | None = None

    @classmethod
    def now(cls, status: TaskStatus, **details: Any) -> TaskTransition:
        """A transition to ``status`` happening now."""
        return cls(status=status, time=utc_now(), **details)

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (what backends store and ``taskiq task --json`` prints)."""
        worker = self.worker
        return {
            "status": self.status.value,
            "time": self.time.isoformat(),
            "worker": None
            if worker is None
            else {"host": worker.host, "pid": worker.pid, "index": worker.index},
            "attempt": self.attempt,
            "next_run": None if self.next_run is None else self.next_run.isoformat(),
            "error": self.error,
        }

    def to_json_bytes(self) -> bytes:
        """`to_json` as UTF-8 JSON, built directly: a worker writes two per task."""
        attempt = "null" if self.attempt is None else str(int(self.attempt))
        next_run = "null" if self.next_run is None else f'"{self.next_run.isoformat()}"'
        error = "null" if self.error is None else json.dumps(self.error)
        return (
            f'{{"status":"{self.status.value}","time":"{self.time.isoformat()}",'
            f'"worker":{_worker_json(self.worker)},"attempt":{attempt},'
            f'"next_run":{next_run},"error":{error}}}'
        ).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskTransition:
        """The transition `to_json` wrote (ValueError, KeyError or TypeError if not one)."""
        worker = data.get("worker")
        next_run = data.get("next_run")
        return cls(
            status=TaskStatus(data["status"]),
            time=datetime.datetime.fromisoformat(data["time"]),
            worker=None if worker is None else WorkerId(**worker),
            attempt=data.get("attempt"),
            next_run=None if next_run is None else datetime.datetime.fromisoformat(next_run),
            error=data.get("error"),
        )


@functools.lru_cache(maxsize=64)
def _worker_json(worker: WorkerId | None) -> str:
    if worker is None:
        return "null"
    return json.dumps({"host": worker.host, "pid": worker.pid, "index": worker.index})


@dataclass(frozen=True)
class TaskStateRecord:
    """What a backend knows of one task: its timeline, oldest first, and its status.

    The status is the newest transition's, with one exception: ``queued`` never
    replaces another status. ``kiq`` writes it after the broker took the message,
    so a fast worker may already have started the task, and a retry is queued as
    it is sent while the task is ``retrying``.
    """

    task_id: str
    timeline: tuple[TaskTransition, ...] = field(default=())

    @classmethod
    def of(cls, task_id: str, transitions: Iterable[TaskTransition]) -> TaskStateRecord:
        """The record of these transitions, ordered by time (stable for equal times)."""
        return cls(task_id, tuple(sorted(transitions, key=lambda step: step.time)))

    @classmethod
    def from_json_entries(cls, task_id: str, entries: Iterable[str | bytes]) -> TaskStateRecord:
        """The record of stored JSON transitions; an entry that is not one is skipped (WARNING).

        For backends that keep a task's timeline as a list of JSON texts.
        """
        found = []
        for entry in entries:
            try:
                found.append(TaskTransition.from_json(json.loads(entry)))
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("Skipping a garbled task-state entry of %s: %s", task_id, exc)
        return cls.of(task_id, found)

    @property
    def current(self) -> TaskTransition:
        """The transition that decides the status (see the class docstring)."""
        for step in reversed(self.timeline):
            if step.status is not TaskStatus.QUEUED:
                return step
        return self.timeline[-1]

    @property
    def status(self) -> TaskStatus:
        """Where the task is now."""
        return self.current.status

    @property
    def worker(self) -> WorkerId | None:
        """The worker of the newest ``started`` transition (None before any)."""
        started = self._last(TaskStatus.STARTED)
        return None if started is None else started.worker

    @property
    def started_at(self) -> datetime.datetime | None:
        """When the newest attempt started (None before any)."""
        started = self._last(TaskStatus.STARTED)
        return None if started is None else started.time

    @property
    def attempt(self) -> int | None:
        """The newest attempt number the timeline mentions."""
        for step in reversed(self.timeline):
            if step.attempt is not None:
                return step.attempt
        return None

    @property
    def error(self) -> str | None:
        """The error (or dead-letter reason) of the current status, if it has one."""
        return self.current.error

    def _last(self, status: TaskStatus) -> TaskTransition | None:
        for step in reversed(self.timeline):
            if step.status is status:
                return step
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict: id, status, worker, attempt, error and the timeline."""
        current = self.current
        return {
            "task_id": self.task_id,
            "status": self.status.value,
            "worker": _worker(self),
            "attempt": self.attempt,
            "next_run": None if current.next_run is None else current.next_run.isoformat(),
            "error": self.error,
            "timeline": [step.to_json() for step in self.timeline],
        }


def _worker(record: TaskStateRecord) -> dict[str, Any] | None:
    worker = record.worker
    if worker is None:
        return None
    return {"host": worker.host, "pid": worker.pid, "index": worker.index}


@runtime_checkable
class SupportsTaskStates(Protocol):
    """A result backend that keeps task states (Redis, NATS KV, in-memory).

    ``record_task_state`` may return before the write reaches the server (the
    Redis backend sends it with the results of the same event-loop turn);
    ``shutdown()`` sends what is still pending. States expire with results.
    """

    async def record_task_state(self, task_id: str, transition: TaskTransition) -> None:
        """Append ``transition`` to the timeline of ``task_id``."""

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        """The state of ``task_id``, or None for an id this backend knows nothing of."""


def task_states_of(target: object) -> SupportsTaskStates:
    """The task-state store of a broker (its result backend) or of a result backend.

    Raises `NotSupportedError` when the backend does not keep task states.
    """
    backend = getattr(target, "result_backend", target)
    if not isinstance(backend, SupportsTaskStates):
        raise NotSupportedError(
            f"Task states are not supported by {type(backend).__name__}: it does not keep "
            "them. Use a result backend that does (Redis, NATS KV, in-memory).",
            feature="task states",
            implementation=type(backend).__name__,
        )
    return backend


def recorder_of(broker: object) -> SupportsTaskStates | None:
    """Where ``broker`` records states: None when it is off or its backend cannot."""
    if not getattr(broker, "record_task_states", True):
        return None
    backend = getattr(broker, "result_backend", None)
    return backend if isinstance(backend, SupportsTaskStates) else None


async def record(broker: object, task_id: str, transition: TaskTransition) -> None:
    """Record ``transition`` if ``broker`` records states; a failing backend is only logged.

    A state is for people watching: it must never fail the task or the send.
    """
    store = recorder_of(broker)
    if store is None:
        return
    try:
        await store.record_task_state(task_id, transition)
    except Exception as exc:
        logger.warning("Could not record task %s as %s: %s", task_id, transition.status.value, exc)
        logger.debug("Recording the task state failed", exc_info=exc)


def utc_now() -> datetime.datetime:
    """Now, aware, in UTC."""
    return datetime.datetime.now(datetime.timezone.utc)


def retrying(attempt: int, delay: float, error: BaseException) -> TaskTransition:
    """The transition a retry middleware records: the next ``attempt`` runs in ``delay`` s."""
    now = utc_now()
    next_run = now + datetime.timedelta(seconds=delay) if delay > 0 else None
    return TaskTransition(
        status=TaskStatus.RETRYING,
        time=now,
        worker=WorkerId.current(),
        attempt=attempt,
        next_run=next_run,
        error=one_line(error),
    )


# -- dead letters ------------------------------------------------------------------

DeadLetterListener = Callable[[str, str], None]
_dead_letter_listeners: list[DeadLetterListener] = []


def on_dead_lettered(listener: DeadLetterListener) -> Callable[[], None]:
    """Call ``listener(task_id, reason)`` for every task a broker of this process dead-letters.

    `taskiq.control.log_dead_lettered`, which every broker calls, notifies it.
    Returns the function that removes the listener again.
    """
    _dead_letter_listeners.append(listener)

    def remove() -> None:
        if listener in _dead_letter_listeners:
            _dead_letter_listeners.remove(listener)

    return remove


def notify_dead_lettered(task_id: str | None, reason: str) -> None:
    """Tell the listeners (see `on_dead_lettered`); a failing listener is logged."""
    if task_id is None:
        return
    for listener in list(_dead_letter_listeners):
        try:
            listener(task_id, reason)
        except Exception:
            logger.exception("A dead-letter listener failed.")


class BackgroundRecords:
    """Records states from synchronous code (a dead-letter hook) as tasks of the running loop."""

    def __init__(self, broker: object) -> None:
        self.broker = broker
        self._pending: set[asyncio.Task[None]] = set()

    def dead_lettered(self, task_id: str, reason: str) -> None:
        """Record ``task_id`` as dead-lettered, soon."""
        transition = TaskTransition.now(
            TaskStatus.DEAD_LETTERED,
            worker=WorkerId.current(),
            error=reason,
        )
        self.soon(task_id, transition)

    def soon(self, task_id: str, transition: TaskTransition) -> None:
        """Schedule the record on the running loop (nothing happens without one)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        pending = loop.create_task(record(self.broker, task_id, transition))
        self._pending.add(pending)
        pending.add_done_callback(self._pending.discard)

    async def wait(self) -> None:
        """Wait for the records scheduled so far."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
