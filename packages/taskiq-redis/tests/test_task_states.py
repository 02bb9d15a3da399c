"""Task states in Redis: the core contract suite, expiry like results, one pipeline per turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from taskiq.control.task_states import TaskStatus, TaskTransition
from taskiq.testing.task_state_contract import TaskStateContract
from taskiq_redis import RedisAsyncResultBackend
from taskiq_redis.keys import state_key


@pytest.fixture
async def redis_backend(
    redis_url: str,
    queue_name: str,
) -> AsyncIterator[RedisAsyncResultBackend[Any]]:
    backend: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
        redis_url,
        prefix_str=queue_name,
        result_ex_time=120,
    )
    await backend.startup()
    yield backend
    await backend.shutdown()


class TestRedisTaskStates(TaskStateContract):
    @pytest.fixture
    def backend(self, redis_backend: RedisAsyncResultBackend[Any]) -> Any:
        return redis_backend


async def test_states_expire_with_results(
    redis_backend: RedisAsyncResultBackend[Any],
    redis_client: Redis,
    queue_name: str,
) -> None:
    await redis_backend.record_task_state("ttl", TaskTransition.now(TaskStatus.QUEUED))
    await redis_backend.get_task_state("ttl")  # waits for the pending write
    ttl = await redis_client.ttl(state_key(queue_name, "ttl"))
    assert 0 < ttl <= 120


async def test_states_expire_in_milliseconds_when_results_do(
    redis_url: str,
    redis_client: Redis,
    queue_name: str,
) -> None:
    backend: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name, result_px_time=50_000
    )
    await backend.startup()
    await backend.record_task_state("px", TaskTransition.now(TaskStatus.QUEUED))
    await backend.shutdown()  # sends what is pending
    pttl = await redis_client.pttl(state_key(queue_name, "px"))
    assert 0 < pttl <= 50_000


async def test_states_of_one_turn_share_the_results_pipeline(
    redis_backend: RedisAsyncResultBackend[Any],
) -> None:
    from taskiq.result import TaskiqResult

    sent: list[int] = []
    original = redis_backend._store_many

    async def counting(writes: list[Any]) -> None:
        sent.append(len(writes))
        await original(writes)

    redis_backend._stores._send = counting  # type: ignore[assignment]

    async def finish(task_id: str) -> None:
        await redis_backend.record_task_state(task_id, TaskTransition.now(TaskStatus.SUCCEEDED))
        result = TaskiqResult(is_err=False, return_value=1, execution_time=0.0)
        await redis_backend.set_result(task_id, result)

    await asyncio.gather(*(finish(f"turn-{index}") for index in range(20)))
    assert sent == [40]  # 20 states and 20 results, one pipeline
    record = await redis_backend.get_task_state("turn-3")
    assert record is not None
    assert record.status is TaskStatus.SUCCEEDED


async def test_a_garbled_entry_is_skipped(
    redis_backend: RedisAsyncResultBackend[Any],
    redis_client: Redis,
    queue_name: str,
) -> None:
    await redis_backend.record_task_state("garbled", TaskTransition.now(TaskStatus.QUEUED))
    await redis_backend.get_task_state("garbled")
    await redis_client.rpush(state_key(queue_name, "garbled"), b"not json")
    record = await redis_backend.get_task_state("garbled")
    assert record is not None
    assert len(record.timeline) == 1
