"""Broker module for `taskiq worker`: a Redis stream broker with the aiohttp app started."""

from __future__ import annotations

import os

import taskiq_aiohttp
from aiohttp import web
from aiohttp_redis_app import QUEUE, REDIS
from taskiq import TaskiqDepends
from taskiq_redis import RedisStreamBroker

broker = RedisStreamBroker(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"), queue_name=QUEUE, xread_block=200
)
taskiq_aiohttp.init(broker, "aiohttp_redis_app:create_app")


@broker.task
async def remember(value: str, request: web.Request = TaskiqDepends()) -> None:
    """Store ``value`` with the client the app's startup opened."""
    await request.app[REDIS].set(f"{QUEUE}:value", value)
