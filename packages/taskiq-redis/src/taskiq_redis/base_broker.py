"""What every Redis broker shares: one connector, a startup check, a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.urls import mask_url

from taskiq_redis.connection import Connector, UsesConnector

logger = logging.getLogger("taskiq_redis")

#: Longest pause between reconnection attempts of a listening worker (s).
MAX_RECONNECT_PAUSE = 2.0


class BaseRedisBroker(UsesConnector, AsyncBroker):
    """A broker talking to Redis through `Connector`; subclasses add kick/listen."""

    def __init__(
        self,
        url: str,
        task_id_generator: Callable[[], str] | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        queue_name: str = "taskiq",
        max_connection_pool_size: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(result_backend=result_backend, task_id_generator=task_id_generator)
        self.connector = self._connect(url, max_connection_pool_size, connection_kwargs)
        self.queue_name = queue_name
        self._url = url

    def describe(self) -> dict[str, str]:
        """The server (password masked) and the queue, for the worker's banner."""
        plain = type(self.connector) is Connector
        server = mask_url(self._url) if plain else self.connector.address.address
        return {"url": server, "queue": self.queue_name}

    async def startup(self) -> None:
        """Check that Redis answers; raise `BrokerConnectionError` naming it otherwise."""
        await super().startup()
        await self.connector.check()

    async def shutdown(self) -> None:
        """Stop middlewares and results, then close every connection."""
        await super().shutdown()
        await self.connector.close()


class Backoff:
    """Pauses between reconnection attempts: 50 ms doubling to `MAX_RECONNECT_PAUSE`."""

    def __init__(self) -> None:
        self.pause = 0.05

    async def wait(self, stopping: asyncio.Event | None = None) -> None:
        """Sleep the current pause (or until ``stopping``), then double it."""
        if stopping is None:
            await asyncio.sleep(self.pause)
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.pause)
        self.pause = min(self.pause * 2, MAX_RECONNECT_PAUSE)

    def reset(self) -> None:
        """Connected again: start from the shortest pause next time."""
        self.pause = 0.05
