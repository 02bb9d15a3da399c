"""The public surface of taskiq_redis is exactly what is documented."""

from __future__ import annotations

import taskiq_redis

DOCUMENTED = {
    "RedisBroker",
    "RedisStreamBroker",
    "ListQueueBroker",
    "PubSubBroker",
    "RedisStreamClusterBroker",
    "ListQueueClusterBroker",
    "PubSubClusterBroker",
    "RedisStreamSentinelBroker",
    "ListQueueSentinelBroker",
    "PubSubSentinelBroker",
    "RedisAsyncResultBackend",
    "RedisAsyncClusterResultBackend",
    "RedisAsyncSentinelResultBackend",
    "RedisScheduleSource",
    "RedisClusterScheduleSource",
    "RedisSentinelScheduleSource",
    "ListRedisScheduleSource",
    "DeadLetter",
    "DuplicateExpireTimeSelectedError",
    "ExpireTimeMustBeMoreThanZeroError",
    "ScheduleSourceError",
}


def test_all_lists_exactly_the_documented_names() -> None:
    assert set(taskiq_redis.__all__) == DOCUMENTED
    for name in DOCUMENTED:
        assert getattr(taskiq_redis, name) is not None


def test_redis_broker_is_the_stream_broker() -> None:
    assert issubclass(taskiq_redis.RedisBroker, taskiq_redis.RedisStreamBroker)
