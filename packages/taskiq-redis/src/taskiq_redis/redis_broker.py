"""Taskiq's module path ``taskiq_redis.redis_broker``, kept for programs that import from it.

The brokers live in their own modules here; this one only re-exports them.
"""

from taskiq_redis.base_broker import BaseRedisBroker
from taskiq_redis.list_broker import ListQueueBroker
from taskiq_redis.pubsub_broker import PubSubBroker
from taskiq_redis.stream_broker import RedisBroker, RedisStreamBroker

__all__ = ["BaseRedisBroker", "ListQueueBroker", "PubSubBroker", "RedisBroker", "RedisStreamBroker"]
