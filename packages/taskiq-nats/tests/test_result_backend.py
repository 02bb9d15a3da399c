"""NATSKeyValueResultBackend on the real server: round trips, pushed readiness, expiry, garbage."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from taskiq import NoResultError, ResultGetError, TaskiqResult, TaskProgress, TaskState
from taskiq_nats import JetStreamBroker, NATSKeyValueResultBackend, NATSObjectStoreResultBackend
from taskiq_nats.buckets import result_key


@pytest.fixture
async def backend(nats_url: str, names: Any) -> Any:
    store: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url,
        bucket_name=names.bucket("results"),
    )
    await store.startup()
    yield store
    await store.shutdown()


def ok(value: Any) -> TaskiqResult[Any]:
    return TaskiqResult(is_err=False, return_value=value, execution_time=0.1, log="a log")


async def test_result_round_trip_with_and_without_logs(backend: Any) -> None:
    await backend.set_result("t1", ok({"a": [1, 2]}))
    assert await backend.is_result_ready("t1")
    full = await backend.get_result("t1", with_logs=True)
    assert full.return_value == {"a": [1, 2]}
    assert full.log == "a log"
    assert (await backend.get_result("t1")).log is None


async def test_error_result_keeps_the_exception_type(backend: Any) -> None:
    failed = TaskiqResult(is_err=True, return_value=None, execution_time=0.0, error=KeyError("k"))
    await backend.set_result("t2", failed)
    stored = await backend.get_result("t2")
    assert isinstance(stored.error, KeyError)
    with pytest.raises(KeyError):
        stored.raise_for_error()


async def test_missing_result_raises_no_result_error(backend: Any) -> None:
    assert not await backend.is_result_ready("nope")
    with pytest.raises(NoResultError):
        await backend.get_result("nope")
    assert await backend.get_progress("nope") is None


async def test_delete_result_forgets_result_and_progress(backend: Any) -> None:
    await backend.set_result("gone", ok(1))
    await backend.set_progress("gone", TaskProgress(state=TaskState.STARTED))
    await backend.delete_result("gone")
    assert not await backend.is_result_ready("gone")
    assert await backend.get_progress("gone") is None
    await backend.delete_result("never-stored")


async def test_garbage_value_raises_result_get_error(backend: Any) -> None:
    await backend.kv.put(result_key("result", "bad"), b"\xff{not json")
    with pytest.raises(ResultGetError) as caught:
        await backend.get_result("bad")
    assert not isinstance(caught.value, NoResultError)
    await backend.kv.put(result_key("progress", "bad"), b'{"unexpected": 1}')
    with pytest.raises(ResultGetError):
        await backend.get_progress("bad")


async def test_progress_round_trip(backend: Any) -> None:
    await backend.set_progress("t3", TaskProgress(state=TaskState.STARTED, meta={"done": 3}))
    progress = await backend.get_progress("t3")
    assert progress.state == TaskState.STARTED
    assert progress.meta == {"done": 3}


async def test_task_ids_with_unsafe_characters_are_stored(backend: Any) -> None:
    for task_id in ("with space", "a*b>c", "ünï", "..dots"):
        await backend.set_result(task_id, ok(task_id))
        assert (await backend.get_result(task_id)).return_value == task_id


async def test_keep_results_false_deletes_after_reading(nats_url: str, names: Any) -> None:
    store: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url, keep_results=False, bucket_name=names.bucket("once")
    )
    await store.startup()
    try:
        await store.set_result("t4", ok(4))
        assert (await store.get_result("t4")).return_value == 4
        assert not await store.is_result_ready("t4")
        with pytest.raises(NoResultError):
            await store.get_result("t4")
    finally:
        await store.shutdown()


class CountingBackend(NATSKeyValueResultBackend[Any]):
    """Counts direct readiness checks, to prove that waiting does not poll."""

    checks = 0

    async def is_result_ready(self, task_id: str) -> bool:
        self.checks += 1
        return await super().is_result_ready(task_id)


async def test_waiters_are_woken_by_the_write_not_by_polling(nats_url: str, names: Any) -> None:
    store = CountingBackend(nats_url, bucket_name=names.bucket("push"))
    await store.startup()
    try:
        waiter = asyncio.create_task(store.wait_until_ready("t5", check_interval=0.2, timeout=10))
        await asyncio.sleep(0.3)
        assert not waiter.done()
        await store.set_result("t5", ok(5))
        await waiter
        assert store.checks == 0
        # a result stored before anyone waits is seen at once, too
        await store.wait_until_ready("t5", timeout=10)
        assert store.checks == 0
    finally:
        await store.shutdown()


async def test_results_expire_after_the_ttl(nats_url: str, names: Any, eventually: Any) -> None:
    store: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url, bucket_name=names.bucket("ttl"), result_ttl=1.0
    )
    await store.startup()
    try:
        status = await store.kv.status()
        assert status.ttl == pytest.approx(1.0)
        await store.set_result("t6", ok(6))
        assert await store.is_result_ready("t6")
        ready = [True]

        async def check() -> None:
            ready[0] = await store.is_result_ready("t6")

        for _ in range(200):
            await check()
            if not ready[0]:
                break
            await asyncio.sleep(0.1)
        assert ready == [False]
    finally:
        await store.shutdown()


async def test_default_ttl_is_one_day(backend: Any) -> None:
    assert (await backend.kv.status()).ttl == pytest.approx(24 * 3600)


def test_object_store_name_is_the_same_backend() -> None:
    assert NATSObjectStoreResultBackend is NATSKeyValueResultBackend


async def test_wait_result_end_to_end_with_a_worker(
    nats_url: str, names: Any, run_worker: Any
) -> None:
    backend: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        nats_url, bucket_name=names.bucket("e2e")
    )
    broker = JetStreamBroker(
        nats_url,
        queue=f"q_{names.suffix}",
        subject=names.subject(),
        stream_name=names.stream(),
    ).with_result_backend(backend)

    @broker.task(task_name="mul")
    async def mul(a: int, b: int) -> int:
        return a * b

    async with run_worker(broker):
        sent = await mul.kiq(6, 7)
        result = await sent.wait_result(timeout=20)
        assert result.return_value == 42
        assert await sent.is_ready()


async def test_unreachable_server_fails_startup_clearly() -> None:
    from taskiq.exceptions import BrokerConnectionError

    store: NATSKeyValueResultBackend[Any] = NATSKeyValueResultBackend(
        "nats://user:secret@127.0.0.1:1", connect_attempts=2, reconnect_time_wait=0.1
    )
    with pytest.raises(BrokerConnectionError) as caught:
        await store.startup()
    assert "127.0.0.1:1" in str(caught.value)
    assert "secret" not in str(caught.value)
    await store.shutdown()
