"""One LISTEN connection that turns NOTIFY payloads into callbacks, reconnecting when lost.

NOTIFY is only a wake-up: a notification sent while this connection was down
is lost, so every user of it also polls (the broker every ``poll_interval``,
the result waiter every second), and `Listener.on_reconnect` callbacks run
after each new connection so that waiters check what they may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from taskiq_pg.connection import CONNECTION_ERRORS, backoff_for

logger = logging.getLogger("taskiq_pg")


class Listener:
    """LISTEN on ``channel`` over its own connection, kept open by a background task."""

    def __init__(
        self,
        dsn: str,
        channel: str,
        on_payload: Callable[[str], None],
        connect_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_payload = on_payload
        self._kwargs = connect_kwargs or {}
        self._lost = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_reconnect: list[Callable[[], None]] = []

    async def start(self) -> None:
        """Connect once (so a wrong DSN fails start-up), then keep the connection."""
        connection = await self._connect()
        self._task = asyncio.create_task(self._keep(connection), name="taskiq_pg listener")

    async def stop(self) -> None:
        self._stop.set()
        self._lost.set()
        if self._task is not None:
            await self._task

    async def _connect(self) -> Any:
        connection = await asyncpg.connect(self._dsn, **self._kwargs)
        self._lost.clear()
        connection.add_termination_listener(lambda _c: self._lost.set())
        await connection.add_listener(self._channel, self._notified)
        return connection

    def _notified(self, _c: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_payload(payload)

    async def _keep(self, connection: Any) -> None:
        backoff = backoff_for(self._dsn)
        while True:
            await self._lost.wait()
            if self._stop.is_set():
                with contextlib.suppress(*CONNECTION_ERRORS):
                    await asyncio.wait_for(connection.close(), 5)
                return
            connection.terminate()
            connection = await self._reconnect(backoff)
            if connection is None:
                return

    async def _reconnect(self, backoff: Any) -> Any:
        while not self._stop.is_set():
            try:
                connection = await self._connect()
            except CONNECTION_ERRORS as exc:
                await backoff.wait(exc, self._stop)
                continue
            backoff.succeeded()
            for callback in self.on_reconnect:
                callback()
            return connection
        return None
