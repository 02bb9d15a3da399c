"""QuickBlockingPool: still bounded and still waiting, only cheaper when nobody waits."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis_test_helpers import eventually
from taskiq_redis.pool import QuickBlockingPool


async def test_the_direct_path_is_active_with_this_redis_py(redis_url: str) -> None:
    pool = QuickBlockingPool.from_url(redis_url, max_connections=2)
    client = Redis(connection_pool=pool)
    assert pool.quick, "redis-py's pool internals changed: checkouts take the slow path"
    for _ in range(20):
        assert await client.ping()
    assert len(pool._available_connections) == 1  # one connection served them all
    await client.aclose()
    await pool.disconnect()


async def test_commands_beyond_the_bound_wait_for_a_free_connection(
    redis_url: str,
    queue_name: str,
) -> None:
    pool = QuickBlockingPool.from_url(redis_url, max_connections=2, timeout=20)
    client = Redis(connection_pool=pool)
    key = f"{queue_name}:pool"
    # Two blocking pops hold both connections until something is pushed.
    holders = [asyncio.create_task(client.blpop([key], timeout=20)) for _ in range(2)]

    async def both_held() -> bool:
        return len(pool._in_use_connections) == 2

    await eventually(both_held)
    waiting = asyncio.create_task(client.rpush(key, "a", "b"))
    done, _ = await asyncio.wait({waiting}, timeout=0.3)
    assert not done, "a third command must wait: the pool holds two connections at most"
    pushers = Redis.from_url(redis_url)
    await pushers.rpush(key, "x", "y")  # frees both holders
    await pushers.aclose()
    assert await asyncio.wait_for(waiting, 20) == 2
    assert len(await asyncio.gather(*holders)) == 2
    many = await asyncio.gather(*(client.incr(f"{key}:n") for _ in range(50)))
    assert sorted(many) == list(range(1, 51))
    created = len(pool._available_connections) + len(pool._in_use_connections)
    assert created <= 2
    await client.delete(key, f"{key}:n")
    await client.aclose()
    await pool.disconnect()
