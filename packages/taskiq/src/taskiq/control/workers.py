"""Live workers: what each worker process says about itself, every few seconds.

Every worker child publishes a `WorkerInfo` (its heartbeat, see
`taskiq.cli.worker.heartbeat`) through the result backend's transport, with
an expiry of `MISSED_BEATS` intervals: a child that dies without a word (SIGKILL,
a lost machine) drops out of `WorkerRegistry.list` once its record expires; a
child that stops gracefully removes its record itself. Result backends that can
store heartbeats implement `SupportsWorkerRegistry`; `workers_of` finds the
registry, or says in one line that the backend cannot do it.
"""

from __future__ import annotations

import abc
import datetime
import json
import multiprocessing
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

from taskiq.exceptions import NotSupportedError

#: Seconds between two heartbeats of a worker child unless told otherwise.
DEFAULT_HEARTBEAT_INTERVAL = 5.0
#: Heartbeats a worker may miss before its record expires.
MISSED_BEATS = 3

_UNSAFE = re.compile(r"[^-_a-zA-Z0-9]")
#: The process name `taskiq worker` gives its children: ``worker-<index>:<pid>``.
_WORKER_NAME = re.compile(r"^worker-(\d+):")


@dataclass(frozen=True)
class WorkerId:
    """Which process: the host it runs on, its pid and its slot (``--workers`` index).

    One vocabulary for "which worker" across the control plane: heartbeats carry it,
    and task states name the worker that started a task with it. ``index`` is None
    outside a ``taskiq worker`` child (a script running a `Receiver`).
    """

    host: str
    pid: int
    index: int | None = None

    @classmethod
    def current(cls) -> WorkerId:
        """This process (looked up once per process name: it is asked for every task)."""
        name = multiprocessing.current_process().name
        cached = _current.get(name)
        if cached is None or cached.pid != os.getpid():
            match = _WORKER_NAME.match(name)
            index = int(match.group(1)) if match else None
            cached = cls(host=socket.gethostname(), pid=os.getpid(), index=index)
            _current[name] = cached
        return cached

    def __str__(self) -> str:
        slot = "" if self.index is None else f" #{self.index}"
        return f"{self.host}:{self.pid}{slot}"

    @property
    def key(self) -> str:
        """The id as one storage-safe string: ``<host>-<pid>-<index>``."""
        return f"{_UNSAFE.sub('_', self.host)}-{self.pid}-{self.index}"


_current: dict[str, WorkerId] = {}


@dataclass(frozen=True)
class RunningTaskInfo:
    """A task the worker is running now, and since when (aware UTC)."""

    task_id: str
    task_name: str
    since: datetime.datetime


@dataclass(frozen=True)
class WorkerInfo:
    """One worker child's heartbeat.

    - ``concurrency``: tasks it runs at once (``--max-async-tasks``).
    - ``running``: the tasks in progress when the heartbeat was taken.
    - ``done`` / ``failed``: task runs finished since it started, and how many of
      those raised (``failed`` is part of ``done``).
    - ``heartbeat``: when this record was written; ``expires_in``: seconds it is
      valid for (`MISSED_BEATS` intervals).
    """

    id: WorkerId
    queues: tuple[str, ...]
    concurrency: int
    running: tuple[RunningTaskInfo, ...]
    done: int
    failed: int
    started: datetime.datetime
    heartbeat: datetime.datetime
    expires_in: float
    version: str

    def to_json(self) -> bytes:
        """The record as stored: UTF-8 JSON."""
        return json.dumps(asdict(self), default=_iso).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> WorkerInfo:
        """Read a stored record back; raises ValueError (or KeyError) if it is not one."""
        data = json.loads(raw)
        return cls(
            id=WorkerId(**data["id"]),
            queues=tuple(data["queues"]),
            concurrency=int(data["concurrency"]),
            running=tuple(_running_from(item) for item in data["running"]),
            done=int(data["done"]),
            failed=int(data["failed"]),
            started=datetime.datetime.fromisoformat(data["started"]),
            heartbeat=datetime.datetime.fromisoformat(data["heartbeat"]),
            expires_in=float(data["expires_in"]),
            version=str(data["version"]),
        )

    def expired(self, now: datetime.datetime | None = None) -> bool:
        """True once ``expires_in`` seconds have passed since ``heartbeat``."""
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return (now - self.heartbeat).total_seconds() > self.expires_in


def _running_from(item: Mapping[str, Any]) -> RunningTaskInfo:
    return RunningTaskInfo(
        task_id=str(item["task_id"]),
        task_name=str(item["task_name"]),
        since=datetime.datetime.fromisoformat(item["since"]),
    )


def _iso(value: object) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


class WorkerRegistry(abc.ABC):
    """Where heartbeats live: write one, remove one, list the live ones."""

    @abc.abstractmethod
    async def publish(self, info: WorkerInfo) -> None:
        """Store ``info`` under ``info.id``, expiring after ``info.expires_in`` seconds."""

    @abc.abstractmethod
    async def remove(self, worker: WorkerId) -> None:
        """Forget ``worker``'s record (a missing one is no error)."""

    @abc.abstractmethod
    async def list(self) -> list[WorkerInfo]:
        """Every worker whose record has not expired, ordered by host, pid and index."""


@runtime_checkable
class SupportsWorkerRegistry(Protocol):
    """A result backend that can store worker heartbeats (Redis, NATS KV, in-memory)."""

    def worker_registry(self) -> WorkerRegistry:
        """The registry on this backend's transport."""


def workers_of(broker: object) -> WorkerRegistry:
    """The worker registry of ``broker``'s result backend.

    Raises `NotSupportedError` when the backend cannot store heartbeats.
    """
    backend = getattr(broker, "result_backend", None)
    if not isinstance(backend, SupportsWorkerRegistry):
        name = type(backend).__name__
        raise NotSupportedError(
            f"Live workers are not supported by {name}: heartbeats travel through the "
            "result backend. Use a Redis, NATS key-value or in-memory result backend.",
            feature="live workers",
            implementation=name,
        )
    return backend.worker_registry()


def sorted_live(records: list[WorkerInfo]) -> list[WorkerInfo]:
    """The records not yet expired, in `WorkerRegistry.list` order (for implementations)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    live = [info for info in records if not info.expired(now)]
    return sorted(live, key=lambda info: (info.id.host, info.id.pid, info.id.index))
