"""The worker child's heartbeat: publish a `WorkerInfo` every ``--heartbeat-interval`` s.

Started by the child once the broker is up (`Heartbeat.start`) and stopped before
the broker shuts down (`Heartbeat.stop`, which removes the record so that a
gracefully stopped child disappears at once). A record expires after
`MISSED_BEATS` intervals, so a child killed with SIGKILL disappears within
``3 * interval`` seconds (15 s by default). A result backend that cannot store
heartbeats turns the heartbeat off with one DEBUG line: the worker runs as before.
A failed publish is logged at WARNING once per outage and retried next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import multiprocessing
import os
import re
import socket
import time
from collections.abc import Callable

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.worker.args import WorkerArgs
from taskiq.control.event_publisher import EventPublisher, publisher_of
from taskiq.control.events import Event, EventKind
from taskiq.control.workers import (
    MISSED_BEATS,
    RunningTaskInfo,
    WorkerId,
    WorkerInfo,
    WorkerRegistry,
    workers_of,
)
from taskiq.exceptions import NotSupportedError
from taskiq.receiver import running

logger = logging.getLogger("taskiq.worker")

#: Broker attributes that name the queue(s) a worker consumes, in the order tried.
_QUEUE_ATTRIBUTES = ("queue_name", "subject", "queues", "queue", "topic")


class Heartbeat:
    """The running heartbeat task of one worker child (inert when off or unsupported)."""

    def __init__(
        self,
        registry: WorkerRegistry | None,
        describe: Callable[[], WorkerInfo],
        interval: float,
    ) -> None:
        self.registry = registry
        self.describe = describe
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._stopped = asyncio.Event()
        #: Where worker-online / worker-offline go (None: no events).
        self.events: EventPublisher | None = None

    @classmethod
    def start(cls, broker: AsyncBroker, args: WorkerArgs, slot: int | None = None) -> Heartbeat:
        """Begin publishing for this child; returns at once (the first beat is sent soon).

        ``slot`` defaults to the index in the child's process name (``worker-<slot>:<pid>``).
        """
        slot = _slot_of_this_process() if slot is None else slot
        registry = _registry_of(broker) if args.heartbeat_interval > 0 else None
        started = _now()
        worker = WorkerId(socket.gethostname(), os.getpid(), slot)
        ttl = args.heartbeat_interval * MISSED_BEATS

        def describe() -> WorkerInfo:
            return snapshot(worker, broker, args.max_async_tasks, started, ttl)

        beat = cls(registry, describe, args.heartbeat_interval)
        beat.events = publisher_of(broker)
        beat._announce(EventKind.WORKER_ONLINE)
        if registry is not None:
            beat._task = asyncio.create_task(beat._run(), name="taskiq-heartbeat")
        return beat

    async def stop(self) -> None:
        """Stop beating and remove this child's record (best effort, bounded).

        The loop is told to stop rather than cancelled: on Python < 3.12 a
        cancellation that meets a finishing ``wait_for`` can be lost.
        """
        self._announce(EventKind.WORKER_OFFLINE)
        if self.events is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.events.flush(), self.interval + 1.0)
        if self._task is None or self.registry is None:
            return
        self._stopped.set()
        await asyncio.wait({self._task}, timeout=self.interval + 1.0)
        self._task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.registry.remove(self.describe().id), self.interval + 1.0)

    def _announce(self, kind: EventKind) -> None:
        if self.events is None:
            return
        info = self.describe()
        extra = {"queues": list(info.queues), "concurrency": info.concurrency}
        self.events.emit(Event.now(kind, worker=info.id, extra=extra))

    async def _run(self) -> None:
        while not self._stopped.is_set():
            await self._beat()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.interval)

    async def _beat(self) -> None:
        assert self.registry is not None
        try:
            await asyncio.wait_for(self.registry.publish(self.describe()), self.interval)
        except Exception as exc:
            if not self._failing:
                logger.warning(
                    "Cannot publish the worker heartbeat (retrying): %s", exc or type(exc).__name__
                )
            self._failing = True
        else:
            self._failing = False


def snapshot(
    worker: WorkerId,
    broker: AsyncBroker,
    concurrency: int,
    started: datetime.datetime,
    ttl: float,
) -> WorkerInfo:
    """What this process is doing now, as a `WorkerInfo`."""
    done, failed = running.finished_counts()
    return WorkerInfo(
        id=worker,
        queues=queues_of(broker),
        concurrency=concurrency,
        running=_running_now(),
        done=done,
        failed=failed,
        started=started,
        heartbeat=_now(),
        expires_in=ttl,
        version=_version(),
    )


def queues_of(broker: AsyncBroker) -> tuple[str, ...]:
    """The queue names a broker consumes, from its usual attributes (empty if none)."""
    for attribute in _QUEUE_ATTRIBUTES:
        value = getattr(broker, attribute, None)
        if isinstance(value, str) and value:
            return (value,)
        if isinstance(value, (list, tuple, dict)) and value:
            return tuple(str(name) for name in value)
    return ()


def _running_now() -> tuple[RunningTaskInfo, ...]:
    wall, mono = _now(), time.monotonic()
    return tuple(
        RunningTaskInfo(
            task_id=task.task_id,
            task_name=task.name,
            since=wall - datetime.timedelta(seconds=mono - task.started),
        )
        for task in running.running_tasks()
    )


def _slot_of_this_process() -> int:
    """The ``--workers`` index from the name `run_child` gives the process (0 if absent)."""
    name = multiprocessing.current_process().name
    match = re.fullmatch(r"worker-(\d+):\d+", name)
    return int(match.group(1)) if match else 0


def _registry_of(broker: AsyncBroker) -> WorkerRegistry | None:
    try:
        return workers_of(broker)
    except NotSupportedError as exc:
        logger.debug("No worker heartbeat: %s", exc)
        return None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _version() -> str:
    from taskiq import __version__

    return __version__
