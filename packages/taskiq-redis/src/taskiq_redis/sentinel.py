"""Redis Sentinel variants: the same brokers and backend, on the master Sentinel names.

The client asks the sentinels for the current master before connecting and
reconnects to the new master after a failover; the brokers' reconnection loops
(see `RedisStreamBroker`) ride out the switch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.serializer import TaskiqSerializer

from taskiq_redis.base_broker import BaseRedisBroker
from taskiq_redis.connection import BaseConnector, with_defaults
from taskiq_redis.errors import RedisAddress
from taskiq_redis.list_broker import ListQueueBroker
from taskiq_redis.pubsub_broker import PubSubBroker
from taskiq_redis.result_backend import RedisAsyncResultBackend
from taskiq_redis.stream_broker import RedisStreamBroker

SentinelHosts = list[tuple[str, int]]


class SentinelConnector(BaseConnector):
    """The master named ``master_name``, found through ``sentinels``."""

    def __init__(
        self,
        sentinels: SentinelHosts,
        master_name: str,
        min_other_sentinels: int = 0,
        sentinel_kwargs: dict[str, Any] | None = None,
        **connection_kwargs: Any,
    ) -> None:
        password = connection_kwargs.get("password")
        self.address = RedisAddress.from_hosts(sentinels, password)
        self.address.address = f"master {master_name!r} via sentinels {self.address.address}"
        with_defaults(connection_kwargs)
        self._sentinel = Sentinel(  # type: ignore[no-untyped-call]
            sentinels,
            min_other_sentinels=min_other_sentinels,
            sentinel_kwargs=sentinel_kwargs,
            **connection_kwargs,
        )
        self._master_name = master_name
        self._client: Redis | None = None

    def client(self) -> Redis:
        """A client of the current master; it follows failovers."""
        if self._client is None:
            self._client = self._sentinel.master_for(self._master_name)
        return self._client

    async def close(self) -> None:
        """Close the master's and the sentinels' connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        for sentinel in self._sentinel.sentinels:
            await sentinel.aclose()


class _SentinelSettings:
    """Mixin: remembers where the sentinels are and builds the connector from them."""

    _sentinel_args: tuple[SentinelHosts, str, int, dict[str, Any] | None]

    def _connect(
        self,
        url: str,
        max_connection_pool_size: int | None,
        connection_kwargs: dict[str, Any],
    ) -> BaseConnector:
        if max_connection_pool_size is not None:
            connection_kwargs["max_connections"] = max_connection_pool_size
        return SentinelConnector(*self._sentinel_args, **connection_kwargs)


class _SentinelBroker(_SentinelSettings, BaseRedisBroker):
    """The constructor of the three Sentinel brokers: the sentinels, then the broker's options.

    Options the broker itself takes (``xread_count`` of `RedisStreamBroker`, ...)
    and connection options pass through ``connection_kwargs`` to that broker.
    """

    def __init__(
        self,
        sentinels: SentinelHosts,
        master_name: str,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        queue_name: str = "taskiq",
        min_other_sentinels: int = 0,
        sentinel_kwargs: dict[str, Any] | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self._sentinel_args = (sentinels, master_name, min_other_sentinels, sentinel_kwargs)
        super().__init__(
            "sentinel",
            queue_name=queue_name,
            result_backend=result_backend,
            task_id_generator=task_id_generator,
            **connection_kwargs,
        )


class RedisStreamSentinelBroker(_SentinelBroker, RedisStreamBroker):
    """`RedisStreamBroker` (acknowledged, at-least-once) on a Sentinel-managed master."""


class ListQueueSentinelBroker(_SentinelBroker, ListQueueBroker):
    """`ListQueueBroker` (at-most-once) on a Sentinel-managed master."""


class PubSubSentinelBroker(_SentinelBroker, PubSubBroker):
    """`PubSubBroker` (broadcast, at-most-once) on a Sentinel-managed master."""


class RedisAsyncSentinelResultBackend(_SentinelSettings, RedisAsyncResultBackend[Any]):
    """`RedisAsyncResultBackend` (pushed readiness, one-day expiry) on a Sentinel master."""

    def __init__(
        self,
        sentinels: SentinelHosts,
        master_name: str,
        keep_results: bool = True,
        result_ex_time: int | None = None,
        result_px_time: int | None = None,
        min_other_sentinels: int = 0,
        sentinel_kwargs: dict[str, Any] | None = None,
        serializer: TaskiqSerializer | None = None,
        prefix_str: str | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self._sentinel_args = (sentinels, master_name, min_other_sentinels, sentinel_kwargs)
        super().__init__(
            "sentinel",
            keep_results=keep_results,
            result_ex_time=result_ex_time,
            result_px_time=result_px_time,
            serializer=serializer,
            prefix_str=prefix_str,
            **connection_kwargs,
        )
