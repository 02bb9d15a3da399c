"""What every Redis broker shares: one connector, a startup check, a clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.reconnect import ReconnectBackoff
from taskiq.urls import mask_url

from taskiq_redis.connection import Connector, UsesConnector

logger = logging.getLogger("taskiq_redis")

#: Longest pause between two retries of one command (s).
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

    @property
    def reconnect_target(self) -> tuple[str, str]:
        """What the worker's reconnect log lines name: the service and where it is."""
        return "Redis", BaseRedisBroker.describe(self)["url"]

    async def startup(self) -> None:
        """Check that Redis answers, prepare the queue, then start events and results.

        Raises `BrokerUnreachableError` (the worker waits and retries) or
        `BrokerConfigError` (a refused login). Nothing user-visible has run
        before Redis answered, so a failed startup can simply be tried again.
        """
        await self.connector.check()
        await self._prepare()
        await super().startup()

    def reconnect_backoff(self) -> ReconnectBackoff:
        """The shared backoff (1 s doubling to 30 s) for one outage, logging as ours."""
        return ReconnectBackoff(*self.reconnect_target, log=logger)

    async def _prepare(self) -> None:
        """What a broker sets up in Redis once it answers (consumer groups, ...)."""

    async def shutdown(self) -> None:
        """Stop middlewares and results, then close every connection."""
        await super().shutdown()
        await self.connector.close()


class Backoff:
    """Short pauses between retries of one command (settling): 50 ms doubling to 2 s.

    Reconnecting after an outage uses the shared `ReconnectBackoff` instead.
    """

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
