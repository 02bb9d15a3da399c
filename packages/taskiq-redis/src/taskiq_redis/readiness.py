"""Readiness pushed to waiters: how ``wait_result()`` returns as soon as a result is stored.

A backend that stores a result publishes the task id on one channel. Each
client backend keeps a single subscription to that channel (one connection,
however many tasks it waits for) and wakes the waiters of that id. A waiter
registers and makes sure the subscription is live *before* it checks whether
the result exists, so a result stored in between is never missed. If the
subscription drops, every waiter re-checks once it is back; each waiter also
re-checks every ``check_interval`` as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from taskiq_redis.errors import TRANSIENT_ERRORS

logger = logging.getLogger("taskiq_redis.readiness")

#: Longest pause between attempts to re-subscribe after losing the connection (s).
MAX_RESUBSCRIBE_PAUSE = 2.0


class ReadinessListener:
    """One subscription to the results channel, fanned out to waiters by task id."""

    def __init__(self, client: Callable[[], Redis], channel: str) -> None:
        self._client = client
        self.channel = channel
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._subscribed = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def waiting(self, task_id: str) -> bool:
        """Tell whether someone waits for ``task_id`` right now."""
        return bool(self._waiters.get(task_id))

    async def wait(
        self,
        task_id: str,
        is_ready: Callable[[], Awaitable[bool]],
        check_interval: float,
    ) -> None:
        """Return once ``is_ready()`` is true, woken by the channel or every ``check_interval``."""
        event = asyncio.Event()
        self._waiters[task_id].add(event)
        try:
            await self._subscription(check_interval)
            while not await is_ready():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), check_interval)
                event.clear()
        finally:
            self._forget(task_id, event)

    def _forget(self, task_id: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(task_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[task_id]

    async def _subscription(self, patience: float) -> None:
        """Start the subscription if needed and wait (up to ``patience``) until it is live."""
        if self._task is None or self._task.done():
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._listen_forever())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), patience)

    async def _listen_forever(self) -> None:
        pause = 0.05
        while not self._stopping.is_set():
            try:
                await self._listen_once()
            except TRANSIENT_ERRORS as exc:
                logger.warning("Result notifications interrupted (%s); resubscribing.", exc)
            self._subscribed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            pause = min(pause * 2, MAX_RESUBSCRIBE_PAUSE)

    async def _listen_once(self) -> None:
        pubsub = self._client().pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            self._watch_reconnects(pubsub)
            self._subscribed.set()
            self._wake_everyone()  # anything published while we were away
            while not self._stopping.is_set():
                message: Any = await pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    self._wake(message["data"])
        finally:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _watch_reconnects(self, pubsub: Any) -> None:
        """Wake every waiter whenever redis-py silently reconnects (and resubscribes).

        A result published while the connection was down is missed by the
        subscription, so each waiter must check again once it is back.
        """
        connection = getattr(pubsub, "connection", None)
        if connection is not None and hasattr(connection, "register_connect_callback"):
            connection.register_connect_callback(self._on_reconnect)

    async def _on_reconnect(self, connection: Any) -> None:
        self._wake_everyone()

    def _wake(self, data: bytes | str) -> None:
        task_id = data.decode() if isinstance(data, bytes) else data
        for event in self._waiters.get(task_id, ()):
            event.set()

    def _wake_everyone(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    async def close(self) -> None:
        """Stop listening and release the connection."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, *TRANSIENT_ERRORS):
                await self._task
        self._task = None
        self._subscribed.clear()
