"""Taskiq's module path ``taskiq_redis.redis_cluster_broker``, kept for programs that import it."""

from taskiq_redis.cluster import ListQueueClusterBroker, RedisStreamClusterBroker

__all__ = ["ListQueueClusterBroker", "RedisStreamClusterBroker"]
