"""Redis Cluster variants: the same brokers and backend, on a `RedisCluster` client.

One queue's keys share a hash slot (the ``{queue_name}`` tag, see
`taskiq_redis.keys`), so every Lua script and multi-stream read runs on one
node. Results and schedules are plain keys; readiness notifications use a
cluster-wide PUBLISH, received on whichever node the subscription lands.
"""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis, RedisCluster

from taskiq_redis.connection import BaseConnector, with_defaults
from taskiq_redis.errors import RedisAddress, bad_url_error
from taskiq_redis.list_broker import ListQueueBroker
from taskiq_redis.pubsub_broker import PubSubBroker
from taskiq_redis.result_backend import RedisAsyncResultBackend
from taskiq_redis.stream_broker import RedisStreamBroker


class ClusterConnector(BaseConnector):
    """A Redis Cluster reached from any of its nodes (``redis://host:port``)."""

    def __init__(
        self,
        url: str,
        max_connection_pool_size: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self.address = RedisAddress.from_url(url, connection_kwargs.get("password"))
        self._url = url
        with_defaults(connection_kwargs)
        if max_connection_pool_size is not None:
            connection_kwargs["max_connections"] = max_connection_pool_size
        self._kwargs = connection_kwargs
        self._client: RedisCluster | None = None
        try:
            self._client = RedisCluster.from_url(url, **connection_kwargs)
        except (ValueError, TypeError) as exc:
            raise bad_url_error(url, exc) from exc

    def client(self) -> Redis:
        """The cluster client, typed as `Redis`: it offers every command we use."""
        if self._client is None:
            self._client = RedisCluster.from_url(self._url, **self._kwargs)
        return cast(Redis, self._client)

    async def close(self) -> None:
        """Close the connections to every node."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _cluster(
    url: str,
    max_connection_pool_size: int | None,
    connection_kwargs: dict[str, Any],
) -> BaseConnector:
    return ClusterConnector(url, max_connection_pool_size, **connection_kwargs)


class RedisStreamClusterBroker(RedisStreamBroker):
    """`RedisStreamBroker` (acknowledged, at-least-once) on Redis Cluster."""

    _connect = staticmethod(_cluster)


class ListQueueClusterBroker(ListQueueBroker):
    """`ListQueueBroker` (at-most-once) on Redis Cluster."""

    _connect = staticmethod(_cluster)


class PubSubClusterBroker(PubSubBroker):
    """`PubSubBroker` (broadcast, at-most-once) on Redis Cluster: PUBLISH reaches every node."""

    _connect = staticmethod(_cluster)


class RedisAsyncClusterResultBackend(RedisAsyncResultBackend[Any]):
    """`RedisAsyncResultBackend` (pushed readiness, one-day default expiry) on Redis Cluster."""

    _connect = staticmethod(_cluster)
