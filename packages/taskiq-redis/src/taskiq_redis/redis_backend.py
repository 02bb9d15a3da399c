"""Taskiq's module path ``taskiq_redis.redis_backend``, kept for programs that import from it."""

from taskiq_redis.cluster import RedisAsyncClusterResultBackend
from taskiq_redis.result_backend import RedisAsyncResultBackend
from taskiq_redis.sentinel import RedisAsyncSentinelResultBackend

__all__ = [
    "RedisAsyncClusterResultBackend",
    "RedisAsyncResultBackend",
    "RedisAsyncSentinelResultBackend",
]
