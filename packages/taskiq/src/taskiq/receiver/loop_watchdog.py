"""Notice when something blocks the event loop, and name the task that does.

A coroutine that calls blocking code (``time.sleep``, a synchronous client, a
long CPU-bound loop) stops everything else in its worker: other tasks,
timeouts, and the heartbeats and lease renewals that tell the broker the worker
is alive. `LoopHeartbeat` is a callback the loop runs every `BEAT` seconds; a
thread that sees it late knows the loop is blocked and for how long.
`LoopWatchdog` is such a thread: it logs one WARNING per blocked stretch
longer than ``threshold`` naming the task running then, and one more when the
loop runs again. Brokers' keep-alive threads (`taskiq.receiver.keepalive`) use
the same heartbeat to renew their claims while the loop cannot.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import weakref
from typing import ClassVar

from taskiq.receiver.running import task_on_stack

logger = logging.getLogger("taskiq.receiver.loop_watchdog")

#: Seconds between two heartbeats of the loop.
BEAT = 0.1
#: A gap between two heartbeats longer than this (s) is recorded as a stall.
STALL = 0.2
#: A loop blocked longer than this (s) is reported.
DEFAULT_THRESHOLD = 1.0


class LoopHeartbeat:
    """A callback on one event loop that records when the loop last ran it."""

    _by_loop: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopHeartbeat]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread_id = threading.get_ident()
        self.last = time.monotonic()
        #: The last stretches the loop was stuck (start, end), newest last.
        self.stalls: collections.deque[tuple[float, float]] = collections.deque(maxlen=8)
        loop.call_soon(self._beat)

    @classmethod
    def here(cls) -> LoopHeartbeat:
        """The heartbeat of the running loop, started on first use (call from the loop)."""
        loop = asyncio.get_running_loop()
        heartbeat = cls._by_loop.get(loop)
        if heartbeat is None:
            heartbeat = cls._by_loop[loop] = cls(loop)
        return heartbeat

    def _beat(self) -> None:
        now = time.monotonic()
        if now - self.last - BEAT > STALL:
            self.stalls.append((self.last + BEAT, now))
        self.last = now
        if not self.loop.is_closed():
            self.loop.call_later(BEAT, self._beat)

    def blocked_for(self) -> float:
        """Seconds the loop has been stuck in one callback (0 when it runs, or has stopped)."""
        if self.loop.is_closed() or not self.loop.is_running():
            return 0.0
        return max(0.0, time.monotonic() - self.last - BEAT)

    def longest_stall_since(self, since: float) -> float:
        """The longest stretch (s, clipped to ``since``) the loop was stuck after ``since``.

        Data the server sent during such a stretch sat unread in the socket for up
        to that long; brokers whose claims expire use it to spot stale deliveries.
        """
        ended = (end - max(start, since) for start, end in self.stalls if end > since)
        return max(ended, default=0.0)


class LoopWatchdog:
    """A daemon thread that warns when the loop of its heartbeat is blocked."""

    def __init__(self, heartbeat: LoopHeartbeat, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.heartbeat = heartbeat
        self.threshold = threshold
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name="taskiq-loop-watchdog", daemon=True
        )

    @classmethod
    def start_here(cls, threshold: float = DEFAULT_THRESHOLD) -> LoopWatchdog:
        """Watch the running loop from now on (call from the loop); `stop` when done."""
        watchdog = cls(LoopHeartbeat.here(), threshold)
        watchdog._thread.start()
        return watchdog

    def stop(self) -> None:
        """End the thread (it exits within one check)."""
        self._stop.set()

    def _watch(self) -> None:
        reported = 0.0  # how long the blocked stretch already reported has lasted
        while not self._stop.wait(min(self.threshold / 4, 0.25)):
            if self.heartbeat.loop.is_closed():
                return
            blocked = self.heartbeat.blocked_for()
            if blocked > self.threshold:
                if not reported:
                    self._warn(blocked)
                reported = max(reported, blocked)
            elif reported:
                logger.info("The event loop runs again after being blocked for %.1f s.", reported)
                reported = 0.0

    def _warn(self, blocked: float) -> None:
        task, where = task_on_stack(self.heartbeat.thread_id)
        culprit = (
            f"task {task.name!r} (id {task.task_id})" if task is not None else "code outside tasks"
        )
        logger.warning(
            "The event loop has been blocked for %.1f s by %s, at %s. Nothing else in this "
            "worker runs meanwhile; make blocking calls from a sync task (run in the executor) "
            "or with asyncio.to_thread().",
            blocked,
            culprit,
            where,
        )
