"""Starts fetched deliveries as execution slots free up.

Two bounds apply. At most ``max_running`` callbacks run at once (None: no
bound), and at most ``max_prefetch`` fetched deliveries wait for a slot: the
fetcher calls `wait_for_room` before fetching, which blocks while
``running + waiting`` would exceed ``max_running + max_prefetch``.

Moving a delivery from waiting to running is synchronous, so when the worker
stops, every delivery is either running (and gets to finish) or waiting (and
is handed back to the broker unsettled), never lost in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

logger = logging.getLogger("taskiq.receiver")

_Item = TypeVar("_Item")


class Dispatcher(Generic[_Item]):
    """Runs ``run(item)`` for submitted items within the running and waiting bounds."""

    def __init__(
        self,
        run: Callable[[_Item], Coroutine[Any, Any, Any]],
        max_running: int | None,
        max_prefetch: int,
    ) -> None:
        self._run = run
        self._limit = max_running if max_running and max_running > 0 else None
        room = None if self._limit is None else self._limit + max(max_prefetch, 0)
        self._capacity = room
        self._room = None if room is None else asyncio.Semaphore(room)
        self.waiting: deque[_Item] = deque()
        self.running: set[asyncio.Task[Any]] = set()
        self.accepting = True
        #: Callbacks that ran to their end (not cancelled), for the shutdown account.
        self.completed = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def room(self) -> int | None:
        """How many deliveries may be fetched now, counting one reserved by `wait_for_room`.

        None when running is unbounded. Brokers that fetch in batches read at most this
        many (the `taskiq.fetch_budget.FetchBudget` the receiver gives them), so their
        prefetch stays within these bounds.
        """
        if self._capacity is None:
            return None
        return max(self._capacity - len(self.running) - len(self.waiting), 1)

    async def wait_for_room(self) -> None:
        """Wait until one more delivery may be fetched; pair with `submit`."""
        if self._room is not None:
            await self._room.acquire()

    def submit(self, item: _Item) -> None:
        """Start ``item`` now if a slot is free, else queue it (room was reserved)."""
        self.waiting.append(item)
        self._idle.clear()
        self._pump()

    def hold(self) -> None:
        """Start nothing more from now on; `stop_starting` collects what waits."""
        self.accepting = False

    def stop_starting(self) -> list[_Item]:
        """Start nothing more; return the deliveries that never started."""
        self.accepting = False
        left = list(self.waiting)
        self.waiting.clear()
        self._check_idle()
        return left

    async def wait_idle(self) -> None:
        """Wait until nothing waits and nothing runs."""
        await self._idle.wait()

    async def drain(self, timeout: float | None) -> int:
        """Let running callbacks finish within ``timeout`` s; cancel the rest.

        Returns how many were cancelled (their deliveries stay unsettled).
        """
        if not self.running:
            return 0
        _, late = await asyncio.wait(set(self.running), timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
        return len(late)

    def _pump(self) -> None:
        while self.accepting and self.waiting and self._slot_free():
            task: asyncio.Task[Any] = asyncio.create_task(self._run(self.waiting.popleft()))
            self.running.add(task)
            task.add_done_callback(self._finished)

    def _slot_free(self) -> bool:
        return self._limit is None or len(self.running) < self._limit

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.running.discard(task)
        if not task.cancelled():
            self.completed += 1
        if self._room is not None:
            self._room.release()
        if not task.cancelled() and task.exception() is not None:
            logger.error("A delivery's callback failed.", exc_info=task.exception())
        self._pump()
        self._check_idle()

    def _check_idle(self) -> None:
        if not self.running and not self.waiting:
            self._idle.set()
