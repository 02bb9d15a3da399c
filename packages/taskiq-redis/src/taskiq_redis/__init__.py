"""Redis brokers, result backends and schedule sources for taskiq.

`RedisBroker` is the recommended broker: acknowledged, at-least-once, with
leases, redelivery of a dead worker's tasks, delays, priorities and dead
letters. See docs/brokers/redis.md for every class and its guarantees.
"""

from taskiq_redis.cluster import (
    ListQueueClusterBroker,
    PubSubClusterBroker,
    RedisAsyncClusterResultBackend,
    RedisStreamClusterBroker,
)
from taskiq_redis.dead_letters import DeadLetter
from taskiq_redis.exceptions import (
    DuplicateExpireTimeSelectedError,
    ExpireTimeMustBeMoreThanZeroError,
    ScheduleSourceError,
)
from taskiq_redis.list_broker import ListQueueBroker
from taskiq_redis.list_schedule_source import ListRedisScheduleSource
from taskiq_redis.pubsub_broker import PubSubBroker
from taskiq_redis.result_backend import RedisAsyncResultBackend
from taskiq_redis.schedule_source import RedisScheduleSource
from taskiq_redis.schedule_variants import RedisClusterScheduleSource, RedisSentinelScheduleSource
from taskiq_redis.sentinel import (
    ListQueueSentinelBroker,
    PubSubSentinelBroker,
    RedisAsyncSentinelResultBackend,
    RedisStreamSentinelBroker,
)
from taskiq_redis.stream_broker import RedisBroker, RedisStreamBroker

__all__ = [
    "DeadLetter",
    "DuplicateExpireTimeSelectedError",
    "ExpireTimeMustBeMoreThanZeroError",
    "ListQueueBroker",
    "ListQueueClusterBroker",
    "ListQueueSentinelBroker",
    "ListRedisScheduleSource",
    "PubSubBroker",
    "PubSubClusterBroker",
    "PubSubSentinelBroker",
    "RedisAsyncClusterResultBackend",
    "RedisAsyncResultBackend",
    "RedisAsyncSentinelResultBackend",
    "RedisBroker",
    "RedisClusterScheduleSource",
    "RedisScheduleSource",
    "RedisSentinelScheduleSource",
    "RedisStreamBroker",
    "RedisStreamClusterBroker",
    "RedisStreamSentinelBroker",
    "ScheduleSourceError",
]
