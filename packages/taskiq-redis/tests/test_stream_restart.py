"""RedisBroker rides out a Redis restart and dropped connections without losing tasks."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually, kicker, marks
from taskiq_redis import RedisBroker

from conftest import RedisServer, Workers

pytestmark = pytest.mark.slow


async def test_worker_survives_redis_restart_and_dropped_connections(
    redis_server: RedisServer,
    workers: Workers,
    redis_client: Redis,
    queue_name: str,
) -> None:
    client = RedisBroker(redis_server.url, queue_name=queue_name)
    await client.startup()
    workers.start(TQ_BROKER_URL=redis_server.url)
    for number in range(10):
        await kicker(client).kiq(number, seconds=1.5)  # still running during the restart

    async def some_started() -> bool:
        return len(await marks(redis_client, queue_name, "started")) >= 2

    await eventually(some_started, what="tasks started before the restart")
    await client.shutdown()
    redis_server.stop()
    redis_server.start()
    await client.startup()
    for number in range(10, 20):
        await kicker(client).kiq(number, seconds=0.2)
    async with Redis.from_url(redis_server.url) as admin:
        await admin.client_kill_filter(_type="normal", skipme=True)
    for number in range(20, 25):
        await kicker(client).kiq(number)

    async def all_done() -> bool:
        return len(await marks(redis_client, queue_name, "done")) == 25

    await eventually(all_done, timeout=50, what="all 25 tasks done after restart")
    assert all(process.poll() is None for process in workers.processes), "worker died"
    stream = client.keys.stream()

    async def all_acked() -> bool:
        info = await client.redis.xpending(stream, client.consumer_group_name)
        return int(info["pending"]) == 0 and await client.redis.xlen(stream) == 0

    await eventually(all_acked, what="every entry acknowledged and deleted")
    await client.shutdown()
