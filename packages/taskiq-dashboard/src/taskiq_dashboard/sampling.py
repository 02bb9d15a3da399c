"""What the overview shows: one `Snapshot` of the control plane, and the recent ones.

The dashboard polls the contracts (queue depths, live workers) instead of keeping
state of its own, so it shows the same numbers as ``taskiq status`` and survives a
restart. One `Sampler` per app takes at most one snapshot per interval, however
many browsers watch, and keeps the last few minutes for the throughput chart.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections import deque
from dataclasses import dataclass, field

from taskiq.control import QueueDepth, WorkerInfo, queues_of, workers_of
from taskiq.exceptions import NotSupportedError

logger = logging.getLogger("taskiq.dashboard")

#: Snapshots kept for the chart (at one a second: five minutes).
HISTORY = 300


@dataclass(frozen=True)
class Snapshot:
    """The queues and workers at ``time``; ``*_error`` says why a part is missing."""

    time: datetime.datetime
    queues: tuple[QueueDepth, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()
    queues_error: str | None = None
    workers_error: str | None = None

    @property
    def waiting(self) -> int:
        """Ready plus delayed messages over every queue (unknown counts as 0)."""
        return sum((depth.ready or 0) + (depth.delayed or 0) for depth in self.queues)

    @property
    def done(self) -> int:
        """Task runs finished by the live workers since they started."""
        return sum(info.done for info in self.workers)


@dataclass(frozen=True)
class Point:
    """One chart point: messages waiting, and task runs finished per second since the last."""

    time: datetime.datetime
    waiting: int
    rate: float


@dataclass
class Sampler:
    """Snapshots of ``broker``, taken at most every ``interval`` seconds, shared by viewers."""

    broker: object
    interval: float = 1.0
    history: deque[Point] = field(default_factory=lambda: deque(maxlen=HISTORY))
    _latest: Snapshot | None = None
    _taken: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def latest(self) -> Snapshot:
        """A snapshot no older than ``interval`` (taking one if needed)."""
        async with self._lock:
            stale = time.monotonic() - self._taken >= self.interval * 0.9
            if self._latest is None or stale:
                snapshot = await take_snapshot(self.broker)
                self._remember(snapshot)
                self._latest, self._taken = snapshot, time.monotonic()
            return self._latest

    def invalidate(self) -> None:
        """Take a fresh snapshot next time (an action just changed what it would show)."""
        self._taken = 0.0

    def _remember(self, snapshot: Snapshot) -> None:
        previous = self._latest
        rate = 0.0
        if previous is not None:
            seconds = (snapshot.time - previous.time).total_seconds()
            finished = finished_between(previous.workers, snapshot.workers)
            rate = finished / seconds if seconds > 0 else 0.0
        self.history.append(Point(snapshot.time, snapshot.waiting, rate))


def finished_between(before: tuple[WorkerInfo, ...], after: tuple[WorkerInfo, ...]) -> int:
    """Runs finished between two snapshots, by workers present in both (a restart resets)."""
    done_before = {info.id: info.done for info in before}
    return sum(max(0, info.done - done_before[info.id]) for info in after if info.id in done_before)


async def take_snapshot(broker: object) -> Snapshot:
    """Read depths and workers now; a part the broker cannot give is an error text."""
    now = datetime.datetime.now(datetime.timezone.utc)
    queues: tuple[QueueDepth, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()
    queues_error = workers_error = None
    try:
        queues = tuple(await queues_of(broker).depths())
    except Exception as exc:
        queues_error = _describe(exc, "queue depths")
    try:
        workers = tuple(await workers_of(broker).list())
    except Exception as exc:
        workers_error = _describe(exc, "workers")
    return Snapshot(now, queues, workers, queues_error, workers_error)


def _describe(exc: Exception, what: str) -> str:
    if isinstance(exc, NotSupportedError):
        return str(exc)
    logger.warning("Dashboard: could not read %s: %s", what, exc)
    return f"Could not read {what}: {type(exc).__name__}: {exc}"
