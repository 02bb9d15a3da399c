"""An aiohttp app whose startup opens a Redis client that tasks then use."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

REDIS = web.AppKey("redis", Redis)
QUEUE = os.environ.get("TASKIQ_QUEUE", "aiohttp-worker-test")


async def redis_client(app: web.Application) -> AsyncIterator[None]:
    """Open the client at startup; record the cleanup with it before closing it."""
    client = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    app[REDIS] = client
    await client.set(f"{QUEUE}:started", os.getpid())
    yield
    await client.set(f"{QUEUE}:cleaned-up", os.getpid())
    await client.aclose()


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(redis_client)
    return app
