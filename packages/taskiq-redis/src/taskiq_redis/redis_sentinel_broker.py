"""Taskiq's module path ``taskiq_redis.redis_sentinel_broker``, kept for programs that import it."""

from taskiq_redis.sentinel import (
    ListQueueSentinelBroker,
    PubSubSentinelBroker,
    RedisStreamSentinelBroker,
)

__all__ = ["ListQueueSentinelBroker", "PubSubSentinelBroker", "RedisStreamSentinelBroker"]
