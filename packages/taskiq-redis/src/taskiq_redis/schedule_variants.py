"""Cluster and Sentinel variants of `RedisScheduleSource`, under Taskiq's names.

All schedules live in one hash (see `RedisScheduleSource`), so on a cluster
they sit on one node and every call is one command, as on a single server.
"""

from __future__ import annotations

from typing import Any

from taskiq.abc.serializer import TaskiqSerializer

from taskiq_redis.cluster import _cluster
from taskiq_redis.schedule_source import RedisScheduleSource
from taskiq_redis.sentinel import SentinelHosts, _SentinelSettings


class RedisClusterScheduleSource(RedisScheduleSource):
    """`RedisScheduleSource` on Redis Cluster, reached from any node's URL."""

    def __init__(
        self,
        url: str,
        prefix: str = "schedule",
        serializer: TaskiqSerializer | None = None,
        buffer_size: int = 50,
        max_connection_pool_size: int | None = None,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(
            url,
            prefix=prefix,
            buffer_size=buffer_size,
            max_connection_pool_size=max_connection_pool_size,
            serializer=serializer,
            **connection_kwargs,
        )

    _connect = staticmethod(_cluster)


class RedisSentinelScheduleSource(_SentinelSettings, RedisScheduleSource):
    """`RedisScheduleSource` on the master named ``master_name``, found through ``sentinels``."""

    def __init__(
        self,
        sentinels: SentinelHosts,
        master_name: str,
        prefix: str = "schedule",
        buffer_size: int = 50,
        serializer: TaskiqSerializer | None = None,
        min_other_sentinels: int = 0,
        sentinel_kwargs: dict[str, Any] | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self._sentinel_args = (sentinels, master_name, min_other_sentinels, sentinel_kwargs)
        super().__init__(
            "sentinel",
            prefix=prefix,
            buffer_size=buffer_size,
            serializer=serializer,
            **connection_kwargs,
        )
