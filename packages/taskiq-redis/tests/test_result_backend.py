"""RedisAsyncResultBackend: storage, expiry, progress, garbage, pushed readiness."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually
from taskiq.depends.progress_tracker import TaskProgress, TaskState
from taskiq.exceptions import NoResultError, ResultGetError, TaskiqResultTimeoutError
from taskiq.result import TaskiqResult
from taskiq.task import AsyncTaskiqTask
from taskiq_redis import (
    DuplicateExpireTimeSelectedError,
    ExpireTimeMustBeMoreThanZeroError,
    RedisAsyncResultBackend,
)
from taskiq_redis.result_backend import DEFAULT_RESULT_EX_TIME

from conftest import RedisServer


@pytest.fixture
async def backend(redis_url: str, queue_name: str) -> AsyncIterator[RedisAsyncResultBackend[int]]:
    backend: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name
    )
    await backend.startup()
    yield backend
    await backend.shutdown()


def _result(value: int = 42) -> TaskiqResult[int]:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.5, log="hello")


async def test_result_round_trips_and_expires_in_a_day_by_default(
    backend: RedisAsyncResultBackend[int],
    redis_client: Redis,
) -> None:
    task_id = uuid.uuid4().hex
    assert not await backend.is_result_ready(task_id)
    await backend.set_result(task_id, _result())
    assert await backend.is_result_ready(task_id)
    got = await backend.get_result(task_id)
    assert (got.return_value, got.is_err, got.log) == (42, False, None)
    assert (await backend.get_result(task_id, with_logs=True)).log == "hello"
    ttl = await redis_client.ttl(f"{backend.prefix_str}:{task_id}")
    assert DEFAULT_RESULT_EX_TIME - 60 < ttl <= DEFAULT_RESULT_EX_TIME


async def test_error_results_keep_their_exception(backend: RedisAsyncResultBackend[int]) -> None:
    task_id = uuid.uuid4().hex
    failed: TaskiqResult[int] = TaskiqResult(
        is_err=True, return_value=0, execution_time=0.1, error=KeyError("missing")
    )
    await backend.set_result(task_id, failed)
    got = await backend.get_result(task_id)
    assert isinstance(got.error, KeyError)
    with pytest.raises(KeyError):
        got.raise_for_error()


async def test_missing_result_raises_no_result_error(backend: RedisAsyncResultBackend[int]) -> None:
    with pytest.raises(NoResultError):
        await backend.get_result(uuid.uuid4().hex)


async def test_garbage_in_the_result_key_raises_result_get_error(
    backend: RedisAsyncResultBackend[int],
    redis_client: Redis,
) -> None:
    task_id = uuid.uuid4().hex
    await redis_client.set(f"{backend.prefix_str}:{task_id}", b"\x00 not json", ex=60)
    with pytest.raises(ResultGetError) as caught:
        await backend.get_result(task_id)
    assert not isinstance(caught.value, NoResultError)
    await redis_client.set(f"{backend.prefix_str}:{task_id}", b'{"valid": "json"}', ex=60)
    with pytest.raises(ResultGetError):
        await backend.get_result(task_id)
    await redis_client.set(f"{backend.prefix_str}:{task_id}:progress", b"[1,2", ex=60)
    with pytest.raises(ResultGetError):
        await backend.get_progress(task_id)


async def test_delete_result_forgets_result_and_progress(
    backend: RedisAsyncResultBackend[int],
) -> None:
    task_id = uuid.uuid4().hex
    await backend.set_result(
        task_id, TaskiqResult(is_err=False, return_value=1, execution_time=0.0)
    )
    await backend.set_progress(task_id, TaskProgress(state=TaskState.STARTED))
    await backend.delete_result(task_id)
    assert not await backend.is_result_ready(task_id)
    assert await backend.get_progress(task_id) is None
    await backend.delete_result(uuid.uuid4().hex)


async def test_keep_results_false_deletes_on_read(redis_url: str, queue_name: str) -> None:
    backend: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(
        redis_url, keep_results=False, prefix_str=queue_name
    )
    task_id = uuid.uuid4().hex
    await backend.set_result(task_id, _result())
    assert (await backend.get_result(task_id)).return_value == 42
    with pytest.raises(NoResultError):
        await backend.get_result(task_id)
    await backend.shutdown()


async def test_configured_expiry_is_applied(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    backend: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(
        redis_url, result_px_time=5000, prefix_str=queue_name
    )
    task_id = uuid.uuid4().hex
    await backend.set_result(task_id, _result())
    assert 0 < await redis_client.pttl(f"{queue_name}:{task_id}") <= 5000
    await backend.shutdown()


def test_invalid_expiry_settings_are_refused(redis_url: str) -> None:
    with pytest.raises(DuplicateExpireTimeSelectedError):
        RedisAsyncResultBackend(redis_url, result_ex_time=1, result_px_time=1)
    with pytest.raises(ExpireTimeMustBeMoreThanZeroError):
        RedisAsyncResultBackend(redis_url, result_ex_time=0)


async def test_progress_round_trips(backend: RedisAsyncResultBackend[int]) -> None:
    task_id = uuid.uuid4().hex
    assert await backend.get_progress(task_id) is None
    await backend.set_progress(task_id, TaskProgress(state=TaskState.STARTED, meta={"done": 3}))
    progress = await backend.get_progress(task_id)
    assert progress is not None
    assert (progress.state, progress.meta) == (TaskState.STARTED, {"done": 3})


async def test_wait_result_is_woken_by_the_store_not_by_polling(
    backend: RedisAsyncResultBackend[int],
    redis_url: str,
    queue_name: str,
) -> None:
    """With a 10 s check interval, the waiter still returns right after the store."""
    task_id = uuid.uuid4().hex
    check_interval = 10.0
    waiter = asyncio.create_task(
        AsyncTaskiqTask(task_id, backend).wait_result(check_interval=check_interval, timeout=30)
    )

    async def waiting() -> bool:
        return backend.readiness.waiting(task_id) and backend.readiness._subscribed.is_set()

    await eventually(waiting, what="waiter subscribed")
    await asyncio.sleep(0.05)  # let the waiter finish its first (negative) check
    writer: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(redis_url, prefix_str=queue_name)
    stored_at = time.monotonic()
    await writer.set_result(task_id, _result(7))
    result = await asyncio.wait_for(waiter, 30)
    elapsed = time.monotonic() - stored_at
    assert result.return_value == 7
    assert elapsed < check_interval / 10, "readiness must be pushed, not polled"
    await writer.shutdown()


async def test_default_wait_result_returns_before_one_poll_interval(
    backend: RedisAsyncResultBackend[int],
) -> None:
    """Many concurrent waiters with default arguments, all woken through one subscription."""
    task_ids = [uuid.uuid4().hex for _ in range(20)]
    waiters = [
        asyncio.create_task(AsyncTaskiqTask(task_id, backend).wait_result()) for task_id in task_ids
    ]

    async def all_waiting() -> bool:
        return all(backend.readiness.waiting(task_id) for task_id in task_ids)

    await eventually(all_waiting, what="all waiters registered")
    for number, task_id in enumerate(task_ids):
        await backend.set_result(task_id, _result(number))
    results = await asyncio.wait_for(asyncio.gather(*waiters), 20)
    assert [result.return_value for result in results] == list(range(20))


async def test_wait_result_times_out_when_nothing_is_stored(
    backend: RedisAsyncResultBackend[int],
) -> None:
    with pytest.raises(TaskiqResultTimeoutError):
        await AsyncTaskiqTask(uuid.uuid4().hex, backend).wait_result(timeout=0.3)


async def test_waiters_survive_a_redis_restart(redis_server: RedisServer) -> None:
    """The subscription comes back by itself; a result stored afterwards still wakes the waiter."""
    backend: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(redis_server.url)
    task_id = uuid.uuid4().hex
    check_interval = 20.0
    waiter = asyncio.create_task(
        AsyncTaskiqTask(task_id, backend).wait_result(check_interval=check_interval, timeout=60)
    )

    async def subscribed() -> bool:
        return backend.readiness.waiting(task_id) and backend.readiness._subscribed.is_set()

    await eventually(subscribed, what="waiter subscribed")
    redis_server.stop()
    redis_server.start()
    writer: RedisAsyncResultBackend[int] = RedisAsyncResultBackend(redis_server.url)
    stored_at = time.monotonic()
    await writer.set_result(task_id, _result(9))
    result = await asyncio.wait_for(waiter, 60)
    assert result.return_value == 9
    assert time.monotonic() - stored_at < check_interval / 2, "woken by polling, not a push"
    await writer.shutdown()
    await backend.shutdown()


async def test_unencodable_value_raises_result_set_error_and_pickle_stores_it(
    redis_url: str,
    queue_name: str,
) -> None:
    from types import SimpleNamespace

    from taskiq.exceptions import ResultSetError
    from taskiq.serializers import PickleSerializer

    value: TaskiqResult[SimpleNamespace] = TaskiqResult(
        is_err=False, return_value=SimpleNamespace(a=1), execution_time=0.1
    )
    json_backend: RedisAsyncResultBackend[SimpleNamespace] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name
    )
    with pytest.raises(ResultSetError) as caught:
        await json_backend.set_result("t1", value)
    assert "serializer" in str(caught.value)
    pickle_backend: RedisAsyncResultBackend[SimpleNamespace] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name, serializer=PickleSerializer()
    )
    await pickle_backend.set_result("t2", value)
    assert (await pickle_backend.get_result("t2")).return_value == SimpleNamespace(a=1)
    for backend in (json_backend, pickle_backend):
        await backend.shutdown()
